package api

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"huangong/store"
)

// PageInput is the cursor and size of a list request.
type PageInput struct {
	Cursor string `query:"cursor" doc:"Opaque cursor from the previous page's nextCursor; empty for the first page. 翻页游标" example:"djE6NTA"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50" example:"50" doc:"Page size 每页条数"`
}

// cursorPrefix versions the cursor format so it can change without
// misreading an old one.
const cursorPrefix = "v1:"

func (in PageInput) page() (store.Page, error) {
	p := store.Page{Limit: in.Limit}
	if in.Cursor == "" {
		return p, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(in.Cursor)
	if err == nil && strings.HasPrefix(string(raw), cursorPrefix) {
		p.After, err = strconv.ParseInt(strings.TrimPrefix(string(raw), cursorPrefix), 10, 64)
	} else if err == nil {
		err = fmt.Errorf("unknown cursor format")
	}
	if err != nil || p.After < 0 {
		return p, toProblem(store.Invalid("query.cursor", "翻页游标无效 cursor %q is not one this service gave out", in.Cursor))
	}
	return p, nil
}

func encodeCursor(next int64) string {
	if next == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(next, 10)))
}

// ListBody is a page of items and the cursor of the next page.
type ListBody[T any] struct {
	Items      []T    `json:"items" doc:"The records on this page 本页记录"`
	NextCursor string `json:"nextCursor,omitempty" example:"djE6NTA" doc:"Pass as ?cursor= for the next page; absent on the last page 下一页游标"`
}

// ListOutput is the response of every list operation.
type ListOutput[T any] struct {
	Body ListBody[T]
}

func listOf[M, T any](rows []*M, next int64, conv func(*M) T) *ListOutput[T] {
	out := &ListOutput[T]{}
	out.Body.Items = make([]T, len(rows))
	for i, r := range rows {
		out.Body.Items[i] = conv(r)
	}
	out.Body.NextCursor = encodeCursor(next)
	return out
}

// etag is the strong validator of a versioned record.
func etag(version int64) string { return fmt.Sprintf(`"%d"`, version) }

// ifMatch reads an If-Match header into the version it names: 0 when the
// header is absent or "*", which skips the check. A header naming no
// version this service could have given is a stale one: 412.
func ifMatch(header string) (int64, error) {
	header = strings.TrimSpace(header)
	if header == "" || header == "*" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(header, "W/"), `"`), 10, 64)
	if err != nil || v <= 0 {
		return 0, toProblem(store.Errorf(store.EPRECONDITION, "版本标识无效，请重新读取 If-Match does not name a current version of this record"))
	}
	return v, nil
}
