package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// apiError is a problem the API answered a page's change with: its status
// and its message, already Chinese first and English beside.
type apiError struct {
	Status int
	Detail string
	Field  string // the input at fault, e.g. "body.latest"
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Detail) }

// callAPI sends one operation to the API in-process with the caller's own
// token, so a page's change is checked, audited and answered exactly as a
// client's would be, and decodes the answer into out.
func (p *Pages) callAPI(c *call, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(c.ctx(), method, path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// The page's client, for the API's throttle and audit.
	req.RemoteAddr = c.r.RemoteAddr
	if fwd := c.r.Header.Get("X-Forwarded-For"); fwd != "" {
		req.Header.Set("X-Forwarded-For", fwd)
	}
	rec := &bufferedResponse{header: http.Header{}}
	p.api.ServeHTTP(rec, req)
	if rec.status >= 400 {
		var prob struct {
			Detail string `json:"detail"`
			Errors []struct {
				Message  string `json:"message"`
				Location string `json:"location"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.body.Bytes(), &prob); err != nil || prob.Detail == "" {
			return fmt.Errorf("api %s %s: %d %s", method, path, rec.status, strings.TrimSpace(rec.body.String()))
		}
		ae := &apiError{Status: rec.status, Detail: prob.Detail}
		if len(prob.Errors) > 0 {
			ae.Field = prob.Errors[0].Location
			if prob.Errors[0].Message != prob.Detail {
				ae.Detail = prob.Detail + "：" + prob.Errors[0].Message
			}
		}
		return ae
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// bufferedResponse keeps the API's answer for the page to read.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
