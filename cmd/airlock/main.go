// Command airlock runs the Airlock accounts service and its administration
// commands. main only wires; see run.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	setMemoryLimit = debug.SetMemoryLimit
	setDefaultLogger = slog.SetDefault
	if err := run(ctx, os.Args[1:], os.Getenv, os.Environ, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "airlock:", err)
		os.Exit(exitCode(err))
	}
}
