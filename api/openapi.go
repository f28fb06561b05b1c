package api

import (
	"maps"
	"slices"

	"github.com/danielgtaylor/huma/v2"
)

// finishDocument completes the OpenAPI document once every operation is
// registered, where the parts huma generates itself fall short of the lint
// in .ci/redocly.yaml (every value has an example; the document is valid
// OpenAPI 3.1 and, downgraded, 3.0):
//   - an example given on a list or a map (example:"[…]") is also its
//     items' example;
//   - huma's own keyword patternDescription, which is no JSON Schema, moves
//     to the extension x-pattern-description. Validation keeps using it: its
//     messages were computed when the operations were registered;
//   - an event stream's event names become one-value enums (OpenAPI 3.0 has
//     no const), and its id and retry fields get examples;
//   - the problem details' error entries get examples.
func finishDocument(oapi *huma.OpenAPI) {
	seen := map[*huma.Schema]bool{}
	var visit func(s *huma.Schema)
	visit = func(s *huma.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		finishSchema(s)
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			visit(s.Properties[name])
		}
		visit(s.Items)
		if ap, ok := s.AdditionalProperties.(*huma.Schema); ok {
			visit(ap)
		}
		for _, subs := range [][]*huma.Schema{s.OneOf, s.AnyOf, s.AllOf} {
			for _, sub := range subs {
				visit(sub)
			}
		}
		visit(s.Not)
		// huma's sse package keeps an event stream's variants here.
		if subs, ok := s.Extensions["oneOf"].([]*huma.Schema); ok {
			for _, sub := range subs {
				finishEvent(sub)
				visit(sub)
			}
		}
	}

	declareThrottle(oapi)
	schemas := oapi.Components.Schemas.Map()
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		visit(schemas[name])
	}
	for _, path := range slices.Sorted(maps.Keys(oapi.Paths)) {
		item := oapi.Paths[path]
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil {
				continue
			}
			for _, p := range op.Parameters {
				visit(p.Schema)
			}
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Content {
					visit(mt.Schema)
				}
			}
			for _, r := range op.Responses {
				for _, mt := range r.Content {
					visit(mt.Schema)
				}
				for _, h := range r.Headers {
					visit(h.Schema)
				}
			}
		}
	}

	if detail := schemas["ErrorDetail"]; detail != nil {
		setExample(detail.Properties["location"], "body.phone")
		setExample(detail.Properties["message"], "expected string to be a mobile number like 13879312345 or a landline like 0793-2212345 手机或座机号码")
	}
}

// finishSchema is finishDocument's work on one schema.
func finishSchema(s *huma.Schema) {
	if len(s.Examples) > 0 {
		switch ex := s.Examples[0].(type) {
		case []any:
			if s.Items != nil && len(ex) > 0 {
				setExample(s.Items, ex[0])
			}
		case map[string]any:
			if ap, ok := s.AdditionalProperties.(*huma.Schema); ok && len(ex) > 0 {
				setExample(ap, ex[slices.Min(slices.Collect(maps.Keys(ex)))])
			}
		}
	}
	if s.PatternDescription != "" {
		if s.Extensions == nil {
			s.Extensions = map[string]any{}
		}
		s.Extensions["x-pattern-description"] = s.PatternDescription
		s.PatternDescription = ""
	}
}

// finishEvent is finishDocument's work on one variant of an event stream.
func finishEvent(s *huma.Schema) {
	if ev := s.Properties["event"]; ev != nil {
		if name, ok := ev.Extensions["const"]; ok {
			ev.Enum = []any{name}
			setExample(ev, name)
			delete(ev.Extensions, "const")
		}
	}
	setExample(s.Properties["id"], 42)
	setExample(s.Properties["retry"], 3000)
}

// setExample gives s an example unless it has one.
func setExample(s *huma.Schema, v any) {
	if s != nil && len(s.Examples) == 0 {
		s.Examples = []any{v}
	}
}

// declareThrottle documents the 429 every operation that takes a token
// may answer: an address whose authentications keep failing waits (see
// authenticate), with Retry-After saying how long.
func declareThrottle(oapi *huma.OpenAPI) {
	for _, item := range oapi.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil || len(op.Security) == 0 || op.Responses["401"] == nil {
				continue
			}
			if r := op.Responses["429"]; r != nil && r.Headers != nil {
				continue
			}
			op.Responses["429"] = &huma.Response{
				Description: "Too Many Requests 请求太频繁",
				Content:     op.Responses["401"].Content,
				Headers: map[string]*huma.Param{"Retry-After": {
					Description: "Seconds to wait before trying again 等待秒数",
					Schema:      &huma.Schema{Type: huma.TypeInteger, Examples: []any{60}},
				}},
			}
		}
	}
}
