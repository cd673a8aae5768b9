// Starts Swagger UI on /schema. Kept out of the page so that the page carries no inline script
// and its Content-Security-Policy can forbid every inline script (see api/schema_ui.py).
"use strict";
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-container");
  document.body.style.margin = "0";
  window.ui = SwaggerUIBundle({
    url: container.dataset.specUrl,
    dom_id: "#swagger-container",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // no call to validator.swagger.io: the UI works offline
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
