"""The docs of the operators' API products: their imported OpenAPI documents merged into the
public document, with Tollgate's security, problem types, RateLimit headers and prices.

* ``selectors`` reads what the docs need from the database (products, current documents,
  enabled operations).
* ``refs`` renames a document's components under a product prefix and rewrites its ``$ref``s.
* ``contract`` is what the gateway adds to every product operation (security, errors, headers).
* ``prices`` says what an operation costs (``x-price``, the pricing page).
* ``fragment`` turns one product into paths, components and tags; ``merge`` joins the
  fragments with Tollgate's own document.
"""
