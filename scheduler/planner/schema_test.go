package planner

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSchemaMatchesTypes keeps the schema and the Go types from drifting:
// every object's properties are exactly the JSON names of its struct.
func TestSchemaMatchesTypes(t *testing.T) {
	s := mustParseSchema(InstanceSchema)
	for def, typ := range map[*node]reflect.Type{
		s:                    reflect.TypeFor[Instance](),
		s.Defs["request"]:    reflect.TypeFor[Request](),
		s.Defs["team"]:       reflect.TypeFor[Team](),
		s.Defs["member"]:     reflect.TypeFor[Member](),
		s.Defs["blocked"]:    reflect.TypeFor[Blocked](),
		s.Defs["assignment"]: reflect.TypeFor[Assignment](),
		s.Defs["worker"]:     reflect.TypeFor[Worker](),
	} {
		var names, required []string
		for f := range typ.Fields() {
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			names = append(names, name)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		var props []string
		for p := range def.Properties {
			props = append(props, p)
		}
		slices.Sort(names)
		slices.Sort(props)
		assert.Equal(t, names, props, typ.Name())
		assert.True(t, def.closed, "%s refuses unknown fields", typ.Name())
		for _, r := range required {
			if typ != reflect.TypeFor[Assignment]() && typ != reflect.TypeFor[Request]() {
				assert.Contains(t, def.Required, r, "%s.%s has no omitempty, so the schema requires it", typ.Name(), r)
			}
		}
	}
}
