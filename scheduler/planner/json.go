package planner

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
)

// InstanceSchema is the JSON Schema (draft 2020-12) of an Instance file.
// DecodeInstance checks input against it.
//
//go:embed instance.schema.json
var InstanceSchema []byte

// DecodeInstance reads an Instance from JSON. Input that is not JSON, or
// breaks InstanceSchema (an unknown or missing field, a wrong type, a
// number out of range, a malformed date) is refused with an *InputError
// naming the field; the checks Solve makes come after.
func DecodeInstance(r io.Reader) (Instance, error) {
	var in Instance
	data, err := io.ReadAll(r)
	if err != nil {
		return in, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return in, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return in, &InputError{Message: "输入不是单个JSON值 invalid JSON: more than one value in the input"}
	}
	if err := instanceSchema.check("", v); err != nil {
		return in, err
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		// The schema check lets nothing through that fails here; keep
		// the field in the message should they ever drift apart.
		return in, &InputError{Message: "does not fit an instance: " + err.Error()}
	}
	return in, nil
}

func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := 1, 1
		for _, c := range data[:min(int(se.Offset), len(data))] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return &InputError{Message: fmt.Sprintf("不是有效的JSON invalid JSON at line %d, column %d: %v", line, col, se)}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &InputError{Message: "不是有效的JSON invalid JSON: the input ends too early"}
	}
	return &InputError{Message: "invalid JSON: " + err.Error()}
}

// node is the part of JSON Schema InstanceSchema uses.
type node struct {
	Ref                  string           `json:"$ref"`
	Type                 string           `json:"type"`
	Required             []string         `json:"required"`
	Properties           map[string]*node `json:"properties"`
	AdditionalProperties json.RawMessage  `json:"additionalProperties"`
	PropertyNames        *node            `json:"propertyNames"`
	Items                *node            `json:"items"`
	MinItems             *int             `json:"minItems"`
	Minimum              *float64         `json:"minimum"`
	Maximum              *float64         `json:"maximum"`
	Pattern              string           `json:"pattern"`
	Defs                 map[string]*node `json:"$defs"`

	root    *node
	extra   *node // additionalProperties as a schema
	closed  bool  // additionalProperties: false
	pattern *regexp.Regexp
}

var instanceSchema = mustParseSchema(InstanceSchema)

func mustParseSchema(data []byte) *node {
	root := new(node)
	if err := json.Unmarshal(data, root); err != nil {
		panic("planner: bad embedded schema: " + err.Error())
	}
	var prep func(n *node)
	prep = func(n *node) {
		if n == nil {
			return
		}
		n.root = root
		if n.Pattern != "" {
			n.pattern = regexp.MustCompile(n.Pattern)
		}
		switch s := string(bytes.TrimSpace(n.AdditionalProperties)); {
		case s == "false":
			n.closed = true
		case s != "" && s != "true":
			n.extra = new(node)
			if err := json.Unmarshal(n.AdditionalProperties, n.extra); err != nil {
				panic("planner: bad embedded schema: " + err.Error())
			}
			prep(n.extra)
		}
		for _, c := range n.Properties {
			prep(c)
		}
		for _, c := range n.Defs {
			prep(c)
		}
		prep(n.Items)
		prep(n.PropertyNames)
	}
	prep(root)
	return root
}

// check reports the first place where v breaks n, in document order.
func (n *node) check(path string, v any) error {
	if n.Ref != "" {
		name, ok := bytes.CutPrefix([]byte(n.Ref), []byte("#/$defs/"))
		def := n.root.Defs[string(name)]
		if !ok || def == nil {
			panic("planner: schema reference " + n.Ref)
		}
		return def.check(path, v)
	}
	where := path
	if where == "" {
		where = "(instance)"
	}
	fail := func(format string, args ...any) error {
		return &InputError{Field: path, Message: fmt.Sprintf(format, args...)}
	}
	switch n.Type {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fail("应为对象 must be an object, not %s", kind(v))
		}
		for _, k := range n.Required {
			if _, ok := obj[k]; !ok {
				return &InputError{Field: join(path, k), Message: "缺少此字段 is required"}
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, ok := n.Properties[k]
			switch {
			case ok:
			case n.extra != nil:
				c = n.extra
			case n.closed:
				known := make([]string, 0, len(n.Properties))
				for p := range n.Properties {
					known = append(known, p)
				}
				slices.Sort(known)
				return &InputError{Field: join(path, k), Message: fmt.Sprintf("未知字段 unknown field; %s takes %v", where, known)}
			default:
				continue
			}
			if n.PropertyNames != nil {
				if err := n.PropertyNames.check(join(path, k), k); err != nil {
					return err
				}
			}
			if err := c.check(join(path, k), obj[k]); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fail("应为数组 must be an array, not %s", kind(v))
		}
		if n.MinItems != nil && len(arr) < *n.MinItems {
			return fail("至少%[2]d项 needs at least %[1]d item(s)", *n.MinItems, *n.MinItems)
		}
		for i, x := range arr {
			if err := n.Items.check(fmt.Sprintf("%s[%d]", path, i), x); err != nil {
				return err
			}
		}
	case "string":
		_, ok := v.(string)
		if !ok {
			return fail("应为字符串 must be a string, not %s", kind(v))
		}
	case "integer":
		num, ok := v.(json.Number)
		if !ok {
			return fail("应为整数 must be an integer, not %s", kind(v))
		}
		i, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return fail("应为整数 %s is not an integer that fits in 64 bits", num)
		}
		if n.Minimum != nil && float64(i) < *n.Minimum {
			return fail("小于最小值 %d is less than the minimum %v", i, *n.Minimum)
		}
		if n.Maximum != nil && float64(i) > *n.Maximum {
			return fail("大于最大值 %d is more than the maximum %v", i, *n.Maximum)
		}
	case "number":
		num, ok := v.(json.Number)
		if !ok {
			return fail("应为数字 must be a number, not %s", kind(v))
		}
		f, err := num.Float64()
		if err != nil {
			return fail("应为数字 %s is not a number", num)
		}
		if n.Minimum != nil && f < *n.Minimum {
			return fail("小于最小值 %v is less than the minimum %v", f, *n.Minimum)
		}
		if n.Maximum != nil && f > *n.Maximum {
			return fail("大于最大值 %v is more than the maximum %v", f, *n.Maximum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fail("应为布尔值 must be true or false, not %s", kind(v))
		}
	case "":
	default:
		panic("planner: schema type " + n.Type)
	}
	if s, ok := v.(string); ok && n.pattern != nil && !n.pattern.MatchString(s) {
		return fail("格式不对 %q does not match %s", s, n.Pattern)
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
