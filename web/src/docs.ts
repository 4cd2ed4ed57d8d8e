// The offline /docs page: Swagger UI shipped in the package, reading /openapi.json.
import SwaggerUI from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "swagger-ui-dist/swagger-ui.css";

SwaggerUI({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
