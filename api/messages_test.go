package api_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidationMessagesChineseFirst: huma's own validation and parsing
// messages reach the client Chinese first with the English beside them,
// and problem+json keeps its fields: status, title, the location and the
// value at fault.
func TestValidationMessagesChineseFirst(t *testing.T) {
	e := mustEnv(t)
	han := regexp.MustCompile(`^\p{Han}`)
	field := map[string]any{"householdId": e.home.ID, "name": "门口田", "area": 0, "crop": "early_rice", "group": 3}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		location, message  string
	}{
		{"exclusive minimum", "POST", "/v1/fields", field, 422, "body.area", "须大于 0 expected number > 0"},
		{"maximum", "POST", "/v1/requests/1/feedback", map[string]any{"stars": 6}, 422, "body.stars", "不能大于 5 expected number <= 5"},
		{"unknown property", "PATCH", "/v1/village", map[string]any{"colour": "red"}, 422, "body.colour", "不认识的字段 unexpected property"},
		{"not an integer query", "GET", "/v1/households?group=abc", nil, 422, "query.group", "应为整数 invalid integer"},
		{"malformed JSON", "POST", "/v1/fields", []byte(`{"name":`), 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := e.cadre
			if tt.location == "body.stars" {
				tok = e.householdTok
			}
			resp, body := e.call(t, tt.method, tt.path, tok, tt.body)
			assertProblem(t, resp, body, tt.status, tt.location)
			assert.Equal(t, http.StatusText(tt.status), body["title"], "the title stays huma's")
			detail, _ := body["detail"].(string)
			assert.Regexp(t, han, detail, "the detail leads in Chinese")
			if tt.location == "" {
				return
			}
			require.NotEmpty(t, body["errors"])
			d := body["errors"].([]any)[0].(map[string]any)
			assert.Equal(t, tt.location, d["location"])
			assert.Equal(t, tt.message, d["message"])
		})
	}
}
