package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	store.ENOTFOUND:     http.StatusNotFound,
	store.ECONFLICT:     http.StatusConflict,
	store.EINVALID:      http.StatusUnprocessableEntity,
	store.EPRECONDITION: http.StatusPreconditionFailed,
	store.EUNAUTHORIZED: http.StatusUnauthorized,
	store.EFORBIDDEN:    http.StatusForbidden,
}

// problem turns any error from the store into the problem+json a client
// sees. Domain errors keep their message and name the field at fault;
// anything else is logged here and shown only as "internal error", since
// driver text would leak the schema.
func (s *Server) problem(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return se // already an HTTP problem, e.g. from deny
	}
	var de *store.Error
	if !errors.As(err, &de) {
		s.log.ErrorContext(ctx, "internal error", "err", err)
		return huma.Error500InternalServerError("internal error 内部错误")
	}
	status, ok := statusOf[de.Code]
	if !ok {
		s.log.ErrorContext(ctx, "domain error without status", "code", de.Code, "err", err)
		return huma.Error500InternalServerError("internal error 内部错误")
	}
	if de.Field != "" {
		return huma.NewError(status, de.Message, &huma.ErrorDetail{Location: de.Field, Message: de.Message})
	}
	return huma.NewError(status, de.Message)
}
