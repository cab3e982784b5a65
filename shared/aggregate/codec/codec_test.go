package codec_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/aggregate/codec"
	"github.com/prism-es/prism/shared/apperr"
)

type item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

type event interface{ kind() string }

type added struct {
	SKU string `json:"sku"`
}

func (added) kind() string { return "added" }

func TestPayload(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    item
		wantErr string // substring; empty means success
	}{
		{name: "valid", payload: `{"sku":"a","quantity":2}`, want: item{SKU: "a", Quantity: 2}},
		{name: "missing fields take zero values", payload: `{}`, want: item{}},
		{name: "partial", payload: `{"sku":"b"}`, want: item{SKU: "b"}},
		{name: "unknown field", payload: `{"sku":"a","colour":"red"}`, wantErr: "unknown field"},
		{name: "wrong type", payload: `{"quantity":"two"}`, wantErr: "malformed command payload"},
		{name: "not json", payload: `not json`, wantErr: "malformed command payload"},
		{name: "empty", payload: ``, wantErr: "malformed command payload"},
		{name: "array instead of object", payload: `[1,2]`, wantErr: "malformed command payload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := codec.Payload[item]([]byte(tc.payload))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, apperr.Rejected, apperr.KindOf(err))
				assert.Equal(t, "malformed command payload", apperr.MessageOf(err))
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPayloadEmptyStruct(t *testing.T) {
	_, err := codec.Payload[struct{}]([]byte(`{}`))
	require.NoError(t, err)

	_, err = codec.Payload[struct{}]([]byte(`{"x":1}`))
	require.Error(t, err)
	assert.Equal(t, apperr.Rejected, apperr.KindOf(err))
}

func TestData(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    item
		wantErr bool
	}{
		{name: "valid", data: `{"sku":"a","quantity":3}`, want: item{SKU: "a", Quantity: 3}},
		{name: "unknown fields are ignored", data: `{"sku":"a","quantity":3,"addedLater":true}`, want: item{SKU: "a", Quantity: 3}},
		{name: "not json", data: `{`, wantErr: true},
		{name: "wrong type", data: `{"quantity":"x"}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := codec.Data[item]([]byte(tc.data))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAs(t *testing.T) {
	dec := codec.As[event, added]()

	got, err := dec([]byte(`{"sku":"x","extra":1}`))
	require.NoError(t, err)
	assert.Equal(t, added{SKU: "x"}, got)
	assert.Equal(t, "added", got.kind())

	got, err = dec([]byte(`{"sku":1}`))
	require.Error(t, err)
	assert.Nil(t, got, "a failed decode returns the zero E")
}
