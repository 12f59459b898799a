module soci-eks/tests/support/throttleproxy

go 1.26
