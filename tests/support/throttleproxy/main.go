// throttleproxy: the test registry as an object store serves it across a network (ours; started by
// tests/support/throttle.py for benchmarks/pod_start.py and tests/node/test_pod_start.py).
//
// Why a program of our own and not Debian's nginx: nginx's limit_rate is per request and has no
// per-request delay without extra modules (echo, njs), and SOCI's Go client speaks HTTP/2 to a
// registry that offers it (hashicorp/go-cleanhttp sets ForceAttemptHTTP2), multiplexing every range
// request on one connection. ECR serves layer blobs from S3 (a redirect), over HTTP/1.1, each
// connection at a bounded rate: what parallel pull exploits. So this proxy
//
//   - terminates TLS with the registry's own certificate and offers HTTP/1.1 only (ALPN), so every
//     concurrent request needs a connection of its own, as with S3;
//   - caps what it writes to each client connection at -rate bytes/s (a token bucket of -burst bytes
//     on the connection's writes, TLS records included), never the total;
//   - delays every request by -latency before forwarding it (the first byte of each response comes
//     that much later) and each new connection's handshake by one -latency (its round trip);
//   - forwards to the registry over TLS on loopback, uncapped;
//   - on SIGTERM/SIGINT writes -stats (JSON): per connection its bytes, requests and bytes in every
//     100 ms bucket, and the total bytes written every 10 ms, then exits 0.
//
// Standard library only; built by scripts/build-go-daemons (target "throttleproxy").
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	version   = "soci-eks throttleproxy 1"
	bucket    = 100 * time.Millisecond // per-connection accounting
	tick      = 10 * time.Millisecond  // total-bytes series
	maxRecord = 16 << 10               // largest write at once (a TLS record)
)

var start = time.Now()

type connStats struct {
	ID       int64   `json:"id"`
	Opened   float64 `json:"opened"` // seconds since the proxy started
	Closed   float64 `json:"closed"` // 0 while open
	Requests int64   `json:"requests"`
	Bytes    int64   `json:"bytes"`
	Buckets  []int64 `json:"buckets"` // bytes written in each 100 ms since Opened
}

type capConn struct {
	net.Conn
	rate    float64       // bytes per second; 0: uncapped
	burst   time.Duration // the bucket's depth, as time at the rate
	latency time.Duration
	next    time.Time // when the bytes written so far are paid for
	opened  time.Time
	greeted bool
	mu      sync.Mutex
	st      connStats
	reg     *registry
}

func (c *capConn) Write(p []byte) (int, error) {
	if !c.greeted {
		c.greeted = true
		time.Sleep(c.latency) // the handshake's round trip
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), maxRecord)
		if c.rate > 0 {
			now := time.Now()
			if floor := now.Add(-c.burst); c.next.Before(floor) {
				c.next = floor
			}
			c.next = c.next.Add(time.Duration(float64(n) / c.rate * float64(time.Second)))
			if d := c.next.Sub(now); d > time.Millisecond { // sleep in steps >= 1 ms; the debt is exact
				time.Sleep(d)
			}
		}
		m, err := c.Conn.Write(p[:n])
		written += m
		c.account(m)
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (c *capConn) account(n int) {
	if n <= 0 {
		return
	}
	i := int(time.Since(c.opened) / bucket)
	c.mu.Lock()
	for len(c.st.Buckets) <= i {
		c.st.Buckets = append(c.st.Buckets, 0)
	}
	c.st.Buckets[i] += int64(n)
	c.st.Bytes += int64(n)
	c.mu.Unlock()
	c.reg.total.Add(int64(n))
}

func (c *capConn) Close() error {
	c.mu.Lock()
	if c.st.Closed == 0 {
		c.st.Closed = time.Since(start).Seconds()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

type registry struct {
	mu     sync.Mutex
	conns  []*capConn
	total  atomic.Int64
	series [][2]float64 // (seconds since start, total bytes)
}

type listener struct {
	net.Listener
	rate    float64
	burst   time.Duration
	latency time.Duration
	reg     *registry
	ids     atomic.Int64
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &capConn{Conn: c, rate: l.rate, burst: l.burst, latency: l.latency, reg: l.reg}
	cc.st.ID = l.ids.Add(1)
	cc.opened = time.Now()
	cc.st.Opened = cc.opened.Sub(start).Seconds()
	l.reg.mu.Lock()
	l.reg.conns = append(l.reg.conns, cc)
	l.reg.mu.Unlock()
	return cc, nil
}

type ctxKey struct{}

func main() {
	listen := flag.String("listen", "127.0.0.2:0", "address to serve on")
	upstream := flag.String("upstream", "", "the registry: https://127.0.0.1:PORT")
	upstreamName := flag.String("upstream-name", "", "the name on the registry's certificate")
	cert := flag.String("cert", "", "certificate served to clients (the registry's)")
	key := flag.String("key", "", "its key")
	ca := flag.String("ca", "", "CA that signed the registry's certificate")
	rate := flag.Float64("rate", 0, "cap per client connection, bytes/s (0: uncapped)")
	burst := flag.Duration("burst", 2*time.Millisecond, "token bucket depth, as time at -rate")
	latency := flag.Duration("latency", 0, "delay before each request is forwarded (and before each handshake's reply)")
	statsPath := flag.String("stats", "", "write the statistics here (JSON) on SIGTERM/SIGINT")
	showVersion := flag.Bool("version", false, "print the version")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *upstream == "" || *cert == "" || *key == "" || *ca == "" || *statsPath == "" {
		log.Fatal("throttleproxy: -upstream, -cert, -key, -ca and -stats are required")
	}
	up, err := url.Parse(*upstream)
	if err != nil {
		log.Fatalf("throttleproxy: -upstream: %v", err)
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		log.Fatalf("throttleproxy: -ca: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		log.Fatalf("throttleproxy: no certificate in %s", *ca)
	}
	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		log.Fatalf("throttleproxy: -cert/-key: %v", err)
	}

	reg := &registry{}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, ServerName: *upstreamName},
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(up)
			r.Out.Host = r.In.Host // the registry sees the name the client used
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorLog:      log.New(os.Stderr, "throttleproxy: ", log.LstdFlags),
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(ctxKey{}).(*capConn); ok {
			c.mu.Lock()
			c.st.Requests++
			c.mu.Unlock()
		}
		time.Sleep(*latency)
		proxy.ServeHTTP(w, r)
	})
	srv := &http.Server{
		Handler:      handler,
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // no HTTP/2
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if t, ok := c.(*tls.Conn); ok {
				c = t.NetConn()
			}
			return context.WithValue(ctx, ctxKey{}, c)
		},
		ErrorLog: log.New(os.Stderr, "throttleproxy: ", log.LstdFlags),
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("throttleproxy: %v", err)
	}
	burstDur := *burst
	if *rate == 0 {
		burstDur = 0
	}
	l := &listener{Listener: ln, rate: *rate, burst: burstDur, latency: *latency, reg: reg}

	go func() {
		t := time.NewTicker(tick)
		for range t.C {
			reg.mu.Lock()
			reg.series = append(reg.series, [2]float64{time.Since(start).Seconds(), float64(reg.total.Load())})
			reg.mu.Unlock()
		}
	}()
	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		if err := srv.ServeTLS(l, "", ""); err != nil && err != http.ErrServerClosed {
			log.Fatalf("throttleproxy: %v", err)
		}
	}()
	fmt.Printf("%s listening on %s -> %s, rate %.0f B/s per connection, latency %s\n", version, ln.Addr(), up, *rate, *latency)
	<-done
	writeStats(*statsPath, reg, *rate, *latency, burstDur)
}

func writeStats(path string, reg *registry, rate float64, latency, burst time.Duration) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	out := struct {
		Version   string       `json:"version"`
		StartUnix float64      `json:"start_unix"`
		Rate      float64      `json:"rate"`
		LatencyS  float64      `json:"latency_s"`
		BurstS    float64      `json:"burst_s"`
		BucketS   float64      `json:"bucket_s"`
		Total     int64        `json:"total_bytes"`
		Series    [][2]float64 `json:"series"`
		Conns     []connStats  `json:"connections"`
	}{version, float64(start.UnixNano()) / 1e9, rate, latency.Seconds(), burst.Seconds(), bucket.Seconds(), reg.total.Load(), reg.series, nil}
	for _, c := range reg.conns {
		c.mu.Lock()
		out.Conns = append(out.Conns, c.st)
		c.mu.Unlock()
	}
	data, err := json.Marshal(out)
	if err != nil {
		log.Fatalf("throttleproxy: %v", err)
	}
	if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
		log.Fatalf("throttleproxy: %v", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		log.Fatalf("throttleproxy: %v", err)
	}
}
