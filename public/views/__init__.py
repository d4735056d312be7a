"""HTML and JSON pages of the public site, one module per concern: ``landing``, ``docs``
(API reference, guides, problems, Postman, the OpenAPI schema), ``pricing`` and ``status``."""
