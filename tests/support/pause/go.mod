module soci-eks/tests/support/pause

go 1.26
