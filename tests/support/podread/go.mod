module soci-eks/tests/support/podread

go 1.26
