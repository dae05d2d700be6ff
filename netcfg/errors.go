package netcfg

import (
	"errors"
	"syscall"
)

// IsExistsErr reports whether err is the kernel's "File exists".
func IsExistsErr(err error) bool { return errors.Is(err, syscall.EEXIST) }

// IsNotFoundErr reports whether err is what deleting an object that is
// already gone returns ("No such process" or "No such file or directory").
func IsNotFoundErr(err error) bool {
	return errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENOENT)
}

// IsPermissionErr reports whether err means the process lacks
// CAP_NET_ADMIN.
func IsPermissionErr(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}
