package main

import "net"

func splitHostPort(s string) (string, string, error) { return net.SplitHostPort(s) }
