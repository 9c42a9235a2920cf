package server

import (
	"net/http"
	"regexp"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// openAPIDocument builds the OpenAPI 3.1 document from the route table, so every
// served route is documented and nothing documented is missing.
func (s *Server) openAPIDocument() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
			"operationId": operationID(rt),
			"responses": map[string]any{
				"default": map[string]any{"description": "An RFC 9457 problem.", "content": map[string]any{
					"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}},
				"2XX": map[string]any{"description": "Success."},
			},
		}
		switch rt.auth {
		case authNone:
			op["security"] = []any{}
		case authSDK:
			op["security"] = []any{map[string]any{"sdkKey": []string{}}, map[string]any{"apiKeyHeader": []string{}}}
		default:
			op["security"] = []any{map[string]any{"apiToken": []string{}}}
			op["x-ramp-role"] = rt.auth
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + rt.body}}}}
		}
		if paths[rt.pattern] == nil {
			paths[rt.pattern] = map[string]any{}
		}
		paths[rt.pattern][strings.ToLower(rt.method)] = op
	}
	obj := func(props map[string]any, required ...string) map[string]any {
		m := map[string]any{"type": "object", "properties": props}
		if required != nil {
			m["required"] = required
		}
		return m
	}
	str := map[string]any{"type": "string"}
	anyObj := map[string]any{"type": "object"}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "ramp API",
			"version":     "1",
			"description": "Admin API (/api/v1), SDK endpoints (/sdk/v1) and OpenFeature Remote Evaluation (/ofrep/v1). The flag document format is described in docs/flag-format.md.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"apiToken":     map[string]any{"type": "http", "scheme": "bearer", "description": "An API token (ramp_api_…); its role decides what it may do."},
				"sdkKey":       map[string]any{"type": "http", "scheme": "bearer", "description": "An environment's SDK key (ramp_srv_… or ramp_cli_…)."},
				"apiKeyHeader": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
			},
			"schemas": map[string]any{
				"Problem": obj(map[string]any{"type": str, "title": str, "status": map[string]any{"type": "integer"}, "detail": str,
					"errors": map[string]any{"type": "array", "items": obj(map[string]any{"path": str, "message": str})}}),
				"Environment":    obj(map[string]any{"key": str, "name": str, "description": str}, "key"),
				"Flag":           map[string]any{"type": "object", "description": "A flag document; see docs/flag-format.md.", "required": []string{"key", "type", "variants"}},
				"FlagDefinition": obj(map[string]any{"type": str, "description": str, "variants": anyObj, "salt": str, "bucket_by": str, "metadata": anyObj, "client_side": map[string]any{"type": "boolean"}}),
				"FlagState":      obj(map[string]any{"enabled": map[string]any{"type": "boolean"}, "off_variant": str, "rules": map[string]any{"type": "array"}, "default": anyObj}),
				"Segment":        obj(map[string]any{"key": str, "description": str, "included": map[string]any{"type": "array", "items": str}, "excluded": map[string]any{"type": "array", "items": str}, "rules": map[string]any{"type": "array"}}),
				"TokenRequest":   obj(map[string]any{"name": str, "role": map[string]any{"enum": []string{"viewer", "editor", "release-manager", "admin"}}}, "name", "role"),
				"SDKKeyRequest":  obj(map[string]any{"name": str, "kind": map[string]any{"enum": []string{"server", "client"}}}),
				"EventBatch":     obj(map[string]any{"batch_id": str, "events": map[string]any{"type": "array", "items": anyObj}}, "batch_id", "events"),
				"OFREPRequest":   obj(map[string]any{"context": anyObj}),
				"MetricDefinition": obj(map[string]any{"key": str, "description": str, "kind": map[string]any{"enum": []string{"proportion", "mean", "ratio", "count", "quantile", "distribution"}},
					"direction": map[string]any{"enum": []string{"higher_is_better", "lower_is_better"}}, "unit": str, "event": str, "denominator": str,
					"aggregate": map[string]any{"enum": []string{"mean", "sum"}}, "population": map[string]any{"enum": []string{"exposed", "active"}},
					"scale": map[string]any{"type": "number"}, "transform": map[string]any{"enum": []string{"", "log"}}, "quantile": map[string]any{"type": "number"},
					"bins": map[string]any{"type": "array", "items": map[string]any{"type": "number"}}, "tolerance": obj(map[string]any{"relative": map[string]any{"type": "number"}, "absolute": map[string]any{"type": "number"}}),
					"method": str, "tau": map[string]any{"type": "number"}, "relative_tau": map[string]any{"type": "number"}, "harm_ratio": map[string]any{"type": "number"}, "min_units": map[string]any{"type": "number"}},
					"key", "kind", "direction", "event"),
				"Plan": map[string]any{"type": "object", "description": "A release plan: flag, environment, treatment, control, stages, guardrails, gates, holdout_percent, exclusions, windows, blackouts, time_zone; or a template name with overrides (see docs).",
					"required": []string{"name"}},
				"CreateRollout": obj(map[string]any{"plan": str, "template": str, "overrides": map[string]any{"$ref": "#/components/schemas/Plan"}}),
				"RolloutAction": obj(map[string]any{"reason": str, "at": map[string]any{"type": "string", "format": "date-time"},
					"restart_evidence": map[string]any{"type": "boolean"}, "stage": map[string]any{"type": "integer"}}),
				"NotificationChannel": obj(map[string]any{"name": str, "type": map[string]any{"enum": []string{"slack", "pagerduty", "email", "webhook"}},
					"url": str, "routing_key": str, "source": str, "signing_secret": str, "smtp_host": str, "smtp_port": map[string]any{"type": "integer"},
					"username": str, "password": str, "from": str, "to": map[string]any{"type": "array", "items": str}, "starttls": str,
					"kinds": map[string]any{"type": "array", "items": str}}, "name", "type"),
			},
		},
	}
}

func operationID(rt route) string {
	p := pathParam.ReplaceAllString(rt.pattern, "by-$1")
	p = strings.NewReplacer("/api/v1/", "", "/sdk/v1/", "sdk-", "/ofrep/v1/", "ofrep-", "/", "-", ".", "-").Replace(p)
	return strings.ToLower(rt.method) + "-" + strings.Trim(p, "-")
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.openAPIDocument())
	return nil
}
