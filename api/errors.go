package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// StatusOf is the HTTP status of a domain error code, from the one table
// of them; false for a code with none (EINTERNAL), which is a 500 that
// shows nothing of the error. The web pages answer with it too.
func StatusOf(code string) (int, bool) {
	status, ok := statusOf[code]
	return status, ok
}

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	store.EBADREQUEST:   http.StatusBadRequest,
	store.ENOTFOUND:     http.StatusNotFound,
	store.ECONFLICT:     http.StatusConflict,
	store.EINVALID:      http.StatusUnprocessableEntity,
	store.EPRECONDITION: http.StatusPreconditionFailed,
	store.EUNAUTHORIZED: http.StatusUnauthorized,
	store.EFORBIDDEN:    http.StatusForbidden,
	store.ETOOMANY:      http.StatusTooManyRequests,
}

// problem turns any error into the problem+json a client sees: the one
// place where errors become HTTP. Domain errors keep their message and
// name the field at fault; anything else is logged here and shown only as
// "internal error", since driver text would leak the schema.
func (s *Server) problem(ctx context.Context, err error) huma.StatusError {
	var se huma.StatusError
	if errors.As(err, &se) {
		return se // already mapped (a helper below called toProblem)
	}
	var de *store.Error
	if errors.As(err, &de) {
		if _, ok := StatusOf(de.Code); ok {
			return toProblem(de)
		}
	}
	s.log.ErrorContext(ctx, "internal error", "err", err)
	return huma.Error500InternalServerError("内部错误 internal error")
}

// toProblem maps a domain error with a known code; helpers that answer
// before a handler reaches the store (cursor, If-Match, auth) use it so
// their problems come from the same table.
func toProblem(de *store.Error) huma.StatusError {
	status, ok := StatusOf(de.Code)
	if !ok {
		return huma.Error500InternalServerError("内部错误 internal error")
	}
	if de.Field != "" {
		return huma.NewError(status, de.Message, &huma.ErrorDetail{Location: de.Field, Message: de.Message})
	}
	return huma.NewError(status, de.Message)
}

// writeProblem answers from middleware, where no handler returns an error.
func (s *Server) writeProblem(ctx huma.Context, err error) {
	se := s.problem(ctx.Context(), err)
	var model *huma.ErrorModel
	if errors.As(se, &model) {
		huma.WriteErr(s.api, ctx, se.GetStatus(), model.Detail, errorsOf(model)...)
		return
	}
	huma.WriteErr(s.api, ctx, se.GetStatus(), se.Error())
}

func errorsOf(m *huma.ErrorModel) []error {
	out := make([]error, len(m.Errors))
	for i, d := range m.Errors {
		out[i] = d
	}
	return out
}
