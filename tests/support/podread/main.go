// podread: the container of the pod-start benchmark (ours; benchmarks/pod_start.py puts it in the
// image's first layer). `podread MARKER [FILE...]` reads MARKER (a small file of the image's last
// layer) and prints `podread marker <unix ns> <bytes>`, then reads every FILE whole, one after the
// other as an application loading its libraries and data does, and prints
// `podread files <unix ns> <bytes> <files>`; then it waits for SIGTERM or SIGINT and exits 0.
// The times are the machine's clock, which the benchmark reads too: they end its clocks.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func readAll(path string, buf []byte) int64 {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "podread: %v\n", err)
		os.Exit(1)
	}
	defer f.Close()
	var n int64
	for {
		m, err := f.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "podread: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-v" {
		fmt.Println("soci-eks podread 1")
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: podread MARKER [FILE...]")
		os.Exit(2)
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	buf := make([]byte, 1<<20)
	n := readAll(os.Args[1], buf)
	fmt.Printf("podread marker %d %d\n", time.Now().UnixNano(), n)
	var total int64
	for _, p := range os.Args[2:] {
		total += readAll(p, buf)
	}
	fmt.Printf("podread files %d %d %d\n", time.Now().UnixNano(), total, len(os.Args)-2)
	<-c
}
