package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"huangong/store"
)

// BadText says what is wrong with a string a client sent, or "" when it is
// fine: a NUL character (SQLite's tokenizer stops at one) or bytes that are
// not UTF-8 (the JSON decoder would silently store them as U+FFFD). The web
// forms judge their fields by it too.
func BadText(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "不能含空字符 must not contain a NUL character"
	case !utf8.ValidString(s):
		return "须为UTF-8文字 must be valid UTF-8 text"
	}
	return ""
}

// checkText refuses, before any handler runs, a path or query parameter
// or a JSON body string (key or value) that BadText refuses, with a 422
// naming it (path.id, query.year, body.name). It runs inside authenticate,
// so the refusal is audited whatever the method.
func (s *Server) checkText(ctx huma.Context, op *huma.Operation) error {
	for _, p := range op.Parameters {
		if p.In == "path" {
			if why := BadText(ctx.Param(p.Name)); why != "" {
				return store.Invalid("path."+p.Name, "%s", why)
			}
		}
	}
	if raw := ctx.URL().RawQuery; raw != "" {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return store.Invalid("query", "查询参数无效 malformed query string")
		}
		for _, k := range slices.Sorted(maps.Keys(q)) {
			if why := BadText(k); why != "" {
				return store.Invalid("query", "%s", why)
			}
			for _, v := range q[k] {
				if why := BadText(v); why != "" {
					return store.Invalid("query."+k, "%s", why)
				}
			}
		}
	}
	return s.checkBody(ctx, op)
}

// checkBody reads the JSON body, checks its strings and puts it back for
// huma to decode. A body over the operation's limit is left to huma's 413.
func (s *Server) checkBody(ctx huma.Context, op *huma.Operation) error {
	r, _ := humago.Unwrap(ctx)
	if r == nil || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	limit := op.MaxBodyBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), rest), rest}
	if err != nil || int64(len(buf)) > limit || len(bytes.TrimSpace(buf)) == 0 {
		return nil // huma answers for a broken, oversized or empty body
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		if !utf8.Valid(buf) {
			return store.Invalid("body", "%s", BadText(string(buf)))
		}
		return nil // huma explains the JSON error
	}
	// encoding/json turns bytes that are not UTF-8, and lone surrogate
	// escapes, into U+FFFD; a U+FFFD the client really sent is kept.
	sentFFFD := utf8.Valid(buf) && (bytes.Contains(buf, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(buf), []byte(`\ufffd`)))
	return checkJSON("body", v, sentFFFD)
}

func checkJSON(at string, v any, sentFFFD bool) error {
	bad := func(s string) string {
		if why := BadText(s); why != "" {
			return why
		}
		if !sentFFFD && strings.ContainsRune(s, utf8.RuneError) {
			return BadText("\xff")
		}
		return ""
	}
	switch v := v.(type) {
	case string:
		if why := bad(v); why != "" {
			return store.Invalid(at, "%s", why)
		}
	case []any:
		for i, e := range v {
			if err := checkJSON(fmt.Sprintf("%s[%d]", at, i), e, sentFFFD); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if why := bad(k); why != "" {
				return store.Invalid(at+"."+k, "%s", why)
			}
			if err := checkJSON(at+"."+k, v[k], sentFFFD); err != nil {
				return err
			}
		}
	}
	return nil
}
