package breakerextension

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAwait(t *testing.T) {
	assert.NoError(t, await(context.Background(), func() {}, nil), "wait returned")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	defer close(release)
	assert.ErrorIs(t, await(ctx, func() { <-release }, nil), context.Canceled, "no stop: the context's error")

	stopped := make(chan struct{})
	err := await(ctx, func() { <-stopped }, func() { close(stopped) })
	assert.NoError(t, err, "stop ends wait, which is awaited")
}
