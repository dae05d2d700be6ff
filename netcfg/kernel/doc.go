// Package kernel is nictab's netlink: the hand-written rtnetlink codec,
// the socket layer and the pipelined executor behind netcfg.Kernel, the
// change monitor and watcher, the sockets read through sock_diag, the
// kernel's own route lookup, and the links, addresses and namespaces the
// sandbox builds. It is the only package of nictab's that speaks netlink
// (TestOnlyKernelSpeaksNetlink); netcfg holds the model and decides what
// to write, and reaches the kernel only through its interfaces.
//
// It builds on Linux only; elsewhere it is empty.
package kernel
