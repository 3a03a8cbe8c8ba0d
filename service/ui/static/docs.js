// The API reference: Swagger UI over /openapi.json, read-only like the rest of the UI.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    supportedSubmitMethods: [],
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
