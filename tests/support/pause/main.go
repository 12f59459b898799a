// A pause process for the tests' pod sandboxes (our own, not Kubernetes' pause.c): it waits for
// SIGINT or SIGTERM and exits 0, and reaps nothing (the sandboxes run no children).
// `pause cat FILE...` first copies the files to stdout (a test container that shows what it reads).
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
	if len(os.Args) > 2 && os.Args[1] == "cat" {
		for _, f := range os.Args[2:] {
			data, err := os.ReadFile(f)
			if err != nil {
				os.Stderr.WriteString(err.Error() + "\n")
				os.Exit(1)
			}
			os.Stdout.Write(data)
		}
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
