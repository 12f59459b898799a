// A pause process for the tests' pod sandboxes (our own, not Kubernetes' pause.c): it waits for
// SIGINT or SIGTERM and exits 0, and reaps nothing (the sandboxes run no children).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		os.Stdout.WriteString("soci-eks test pause\n")
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
