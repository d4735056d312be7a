from __future__ import annotations

from django.urls import path

from accounts import apis, views

app_name = "accounts"

urlpatterns = [
    path("orgs/", views.organization_list, name="organizations"),
    path("orgs/switch/", views.organization_switch, name="switch"),
    path("orgs/leave/", views.organization_leave, name="leave"),
    path("orgs/members/", views.members, name="members"),
    path("orgs/members/<int:membership_id>/role/", views.member_change_role, name="member_role"),
    path("orgs/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("orgs/invitations/", views.invitation_create, name="invite"),
    path("orgs/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("orgs/join/<str:token>/", views.invitation_accept, name="invitation_accept"),
    # Beside allauth's account pages (/accounts/email/, /accounts/sessions/ …), in the same layout.
    path("accounts/tokens/", views.access_tokens, name="tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", views.access_token_revoke, name="token_revoke"),
    path("api/members/", apis.MemberListApi.as_view(), name="api_members"),
    path("api/members/<int:membership_id>/", apis.MemberRemoveApi.as_view(), name="api_member"),
    path("api/members/<int:membership_id>/role/", apis.MemberRoleApi.as_view(), name="api_member_role"),
    path("api/members/invitations/", apis.InvitationsApi.as_view(), name="api_invitations"),
    path("api/members/invitations/<int:invitation_id>/", apis.InvitationRevokeApi.as_view(), name="api_invitation"),
]
