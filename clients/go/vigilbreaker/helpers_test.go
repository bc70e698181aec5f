package vigilbreaker

import "context"

func errContextCanceled() error { return context.Canceled }
