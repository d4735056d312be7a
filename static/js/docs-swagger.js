/* Swagger UI for /docs/: served locally, configured from the JSON island #docs-config
 * (CSP: no inline script). A signed-in developer's test key is pre-authorized, so
 * "Try it out" → "Execute" works without pasting anything. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("docs-config").textContent);

  var ui = window.SwaggerUIBundle({
    url: config.schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayRequestDuration: true,
    showExtensions: true,
    showCommonExtensions: true,
    filter: true,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    presets: [window.SwaggerUIBundle.presets.apis],
    plugins: [window.SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    requestInterceptor: function (request) {
      // Calls to this portal's own customer API (/api/…) authenticate with the session and
      // need Django's CSRF token on unsafe methods; never send it elsewhere.
      try {
        var target = new URL(request.url, window.location.href);
        var unsafe = ["GET", "HEAD", "OPTIONS"].indexOf(String(request.method).toUpperCase()) < 0;
        if (target.origin === window.location.origin && target.pathname.indexOf("/api/") === 0 && unsafe && config.csrfToken) {
          request.headers["X-CSRFToken"] = config.csrfToken;
        }
      } catch (e) { /* a relative or malformed URL: leave the request as it is */ }
      return request;
    },
    onComplete: function () {
      if (config.apiKey) {
        ui.preauthorizeApiKey(config.apiKeyScheme, config.apiKey);
        document.body.setAttribute("data-docs-authorized", "true");
      }
      document.body.setAttribute("data-docs-ready", "true");
    }
  });
  window.tollgateSwagger = ui;
})();
