"""Customer REST API for the members and invitations of the active organization.

The browser session or a personal access token (scope area ``members``), scoped to the active
organization like ``keys/apis.py``: another organization's member is a 404. Thin: reads through
``accounts.selectors``, writes through ``accounts.services`` — the same functions and the same
membership rules (at least one owner; only owners touch the owner role) as the members page.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import Role
from accounts.permissions import OrgCapability, active_organization

MEMBERS = ["Members"]
CONFLICT = OpenApiResponse(OpenApiTypes.OBJECT, description="A membership rule forbids it, e.g. the last owner.")


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership id (use it to change the role or remove).")
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name", allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField(source="created_at")


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.EmailField(source="invited_by.email", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class MemberListApi(APIView):
    permission_classes = [OrgCapability.of("view")]
    scope_area = "members"

    class OutputSerializer(MemberSerializer):
        pass

    @extend_schema(
        operation_id="members_list",
        tags=MEMBERS,
        responses=OutputSerializer(many=True),
        summary="Members of the organization",
    )
    def get(self, request):
        members = selectors.members_of(org=active_organization(request))
        return Response(self.OutputSerializer(members, many=True).data)


class MemberRemoveApi(APIView):
    permission_classes = [OrgCapability.of("manage_members")]
    scope_area = "members"

    @extend_schema(
        operation_id="members_destroy",
        tags=MEMBERS,
        request=None,
        responses={204: None, 409: CONFLICT},
        summary="Remove a member",
    )
    def delete(self, request, membership_id: int):
        member = selectors.member_get(org=active_organization(request), membership_id=membership_id)
        services.membership_remove(membership=member, actor=request.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberRoleApi(APIView):
    permission_classes = [OrgCapability.of("manage_members")]
    scope_area = "members"

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices)

    class OutputSerializer(MemberSerializer):
        pass

    @extend_schema(
        operation_id="members_role_update",
        tags=MEMBERS,
        request=InputSerializer,
        responses={200: OutputSerializer, 409: CONFLICT},
        summary="Change a member's role",
    )
    def post(self, request, membership_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = selectors.member_get(org=active_organization(request), membership_id=membership_id)
        member = services.membership_change_role(
            membership=member, role=serializer.validated_data["role"], actor=request.membership
        )
        return Response(self.OutputSerializer(member).data)


class InvitationsApi(APIView):
    """List (GET) the open invitations and invite (POST): one path, one serializer pair per method."""

    permission_classes = [OrgCapability.of("manage_members")]
    scope_area = "members"

    class ListOutputSerializer(InvitationSerializer):
        pass

    class CreateInputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=Role.choices, default=Role.DEVELOPER)

    class CreateOutputSerializer(InvitationSerializer):
        pass

    @extend_schema(
        operation_id="members_invitations_list",
        tags=MEMBERS,
        responses=ListOutputSerializer(many=True),
        summary="Open invitations",
    )
    def get(self, request):
        invitations = selectors.invitations_open_for(org=active_organization(request))
        return Response(self.ListOutputSerializer(invitations, many=True).data)

    @extend_schema(
        operation_id="members_invitations_create",
        tags=MEMBERS,
        request=CreateInputSerializer,
        responses={201: CreateOutputSerializer, 409: CONFLICT},
        summary="Invite someone (the e-mail goes out at once)",
    )
    def post(self, request):
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            organization=active_organization(request), invited_by=request.user, **serializer.validated_data
        )
        return Response(self.CreateOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeApi(APIView):
    permission_classes = [OrgCapability.of("manage_members")]
    scope_area = "members"

    @extend_schema(
        operation_id="members_invitations_destroy",
        tags=MEMBERS,
        request=None,
        responses={204: None, 410: OpenApiResponse(OpenApiTypes.OBJECT, description="Already accepted.")},
        summary="Revoke an invitation",
    )
    def delete(self, request, invitation_id: int):
        invitation = selectors.invitation_get(org=active_organization(request), invitation_id=invitation_id)
        services.invitation_revoke(invitation=invitation, actor=request.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)
