/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpkv key registry: the pinned layout (an ABI, docs/REGISTRY.md) and the
 * request that the allocation programs (registry/registry.bpf.c) take as
 * their BPF_PROG_TYPE_SYSCALL context. Included by BPF programs (after
 * vmlinux.h or <linux/bpf.h>) and by C/C++ user space.
 *
 * One BPF_MAP_TYPE_ARRAY with a single entry (key 0, a __u32), pinned as
 * DIR/registry (DIR: /sys/fs/bpf/xdpkv by default), whose value is
 * struct xdpkv_registry. Writers change it only under its bpf_spin_lock,
 * from the programs of registry.bpf.c; readers copy it with BPF_F_LOCK.
 */
#ifndef XDPKV_REGISTRY_H
#define XDPKV_REGISTRY_H

#include <xdpkv/format.h>

#if !defined(__bpf__) && !defined(__KERNEL__)
#include <linux/bpf.h> /* struct bpf_spin_lock { __u32 val; } */
#elif defined(__bpf__) && !defined(__VMLINUX_H__)
#include <linux/bpf.h>
#endif

/* BPF programs have no errno.h (format.h defines the ones it uses). */
#if defined(__bpf__)
#ifndef EPERM
#define EPERM 1
#endif
#ifndef EBUSY
#define EBUSY 16
#endif
#ifndef EPROTO
#define EPROTO 71
#endif
#ifndef EAGAIN
#define EAGAIN 11
#endif
#endif

#define XDPKV_REGISTRY_MAGIC   0x7872656bu /* "kerx" in memory (little-endian) */
#define XDPKV_REGISTRY_VERSION 2
/* Version 1 had no key_gen[] (value size 4136): refused with its version named. */
#define XDPKV_REGISTRY_V1_SIZE 4136
/* The export file format (docs/REGISTRY.md §7), independent of the pinned layout. */
#define XDPKV_EXPORT_VERSION   1
#define XDPKV_REGISTRY_PIN     "registry" /* DIR/registry */
#define XDPKV_ORIGIN_PIN       "origin"	  /* DIR/origin: the host's origin mark */
#define XDPKV_REGISTRY_DIR     "/sys/fs/bpf/xdpkv"

#define XDPKV_NAME_MAX	32 /* 31 characters and a NUL */
#define XDPKV_OWNER_MAX 16 /* TASK_COMM_LEN */

/* Reserved key ids (XDPKV_RESERVED_MASK, 59-63) are in format.h. */
/*
 * The reserved copy of registries created before id 59 (the origin mark)
 * was reserved: accepted while id 59 is free, and upgraded by init.
 */
#define XDPKV_RESERVED_MASK_PRE_ORIGIN (~0ULL << XDPKV_KEY_HINT_FIRST)

/*
 * How a key's value behaves under GRO (docs/PERFORMANCE.md): the kernel
 * merges skbs only when their metadata bytes are equal. FLOW: the same value
 * on every packet of a flow (merging keeps going); PACKET: differs from
 * packet to packet (every change stops merging). UNSET: nobody said (an
 * older registrant, or none given); it is compatible with either.
 */
#define XDPKV_SCOPE_UNSET  0
#define XDPKV_SCOPE_FLOW   1
#define XDPKV_SCOPE_PACKET 2
#define XDPKV_SCOPE_MAX	   XDPKV_SCOPE_PACKET
/* Names, indexed by scope (an initializer list): what listings print and export files hold. */
#define XDPKV_SCOPE_NAMES  "unset", "flow", "packet"

/*
 * A registrant asking for scope want gets a name held with scope held: the
 * same scope, or one of them unset (no claim). An unset entry keeps its
 * scope: register never rewrites a registered key.
 */
static __always_inline int xdpkv_scope_compatible(__u32 held, __u32 want)
{
	return held == want || held == XDPKV_SCOPE_UNSET || want == XDPKV_SCOPE_UNSET;
}

/* One registered key; keys[id] of the registry, meaningful when bit id of used is set. */
struct xdpkv_reg_entry {
	char name[XDPKV_NAME_MAX];	 /*  0: NUL-padded, [a-z0-9_.-]{1,31} */
	__u32 size;			 /* 32: value size, 2, 4 or 8 */
	__u32 owner_uid;		 /* 36: uid of the registrant (kernel's view) */
	__u64 registered_ns;		 /* 40: CLOCK_REALTIME ns, from the registrant */
	char owner[XDPKV_OWNER_MAX - 1]; /* 48: comm of the registrant, NUL-padded */
	/*
	 * 63: XDPKV_SCOPE_*. It was the NUL of a 16-byte comm, which
	 * bpf_get_current_comm() always writes: entries of older tools read
	 * as unset, and older tools still write valid (unset) entries.
	 */
	__u8 scope;
}; /* 64 bytes */

/*
 * The value of DIR/registry (key 0). Version 2 appended key_gen[] and gave
 * the former pad word a meaning (next); everything before is as in version 1.
 */
struct xdpkv_registry {
	struct bpf_spin_lock lock; /*  0 */
	__u32 magic;		   /*  4: XDPKV_REGISTRY_MAGIC */
	__u32 version;		   /*  8: XDPKV_REGISTRY_VERSION */
	__u32 next;		   /* 12: where the round-robin scan for a free id starts */
	__u64 used;		   /* 16: bit k set: keys[k] is registered */
	__u64 reserved;		   /* 24: copy of XDPKV_RESERVED_MASK (informational) */
	__u64 generation;	   /* 32: +1 on every register/unregister that changes state */
	struct xdpkv_reg_entry keys[XDPKV_NKEYS]; /* 40 */
	__u32 key_gen[XDPKV_NKEYS];		  /* 4136: times id k was handed to a name */
};						  /* 4392 bytes */

/* Operations (informational: each program of registry.bpf.c does one). */
#define XDPKV_REG_OP_INIT	1
#define XDPKV_REG_OP_REGISTER	2
#define XDPKV_REG_OP_UNREGISTER 3
#define XDPKV_REG_OP_IMPORT	4

/*
 * The context of the allocation programs: BPF_PROG_TEST_RUN with
 * ctx_in = &req, ctx_size_in = sizeof(req); the kernel copies it back to
 * ctx_in (SYSCALL programs take no ctx_out). id: register_at and import
 * name the id they want; on -EEXIST the id comes back as the one the name
 * already holds.
 */
struct xdpkv_reg_req {
	__u32 op;		     /*  0: XDPKV_REG_OP_* */
	__u32 size;		     /*  4: in: value size; out: the registered size */
	__s32 id;		     /*  8: in: wanted id, -1 any; out: the id (or the held one) */
	__s32 ret;		     /* 12: out: 0 or -errno, as the program's return */
	__u32 owner_uid;	     /* 16: out: uid recorded (init: the version found) */
	__u32 scope;		     /* 20: in: XDPKV_SCOPE_*; out: the name's recorded scope */
	__u64 now_ns;		     /* 24: in: CLOCK_REALTIME ns */
	char owner[XDPKV_OWNER_MAX]; /* 32: out: comm recorded */
	char name[XDPKV_NAME_MAX];   /* 48: in: NUL-padded name */
	char holder[XDPKV_NAME_MAX]; /* 80: out on -EBUSY: the name holding the wanted id */
	__u32 created;		     /* 112: out: 1 if this request registered the name */
	__u32 pad;		     /* 116: zero */
};				     /* 120 bytes */

/*
 * An import (fixed assignments, all or nothing): written by the importer to
 * the private, unpinned map xdpkv_reg_batch of its own skeleton, then applied
 * by xdpkv_reg_import in one run under the registry's lock, only if the
 * registry's generation is still the one the importer checked the batch
 * against (else -EAGAIN: re-check and retry) and no id of the batch is taken.
 */
struct xdpkv_reg_item {
	char name[XDPKV_NAME_MAX]; /*  0: NUL-padded name */
	__u32 size;		   /* 32: 2, 4 or 8 */
	__s32 id;		   /* 36: 0..59 */
	__u32 scope;		   /* 40: XDPKV_SCOPE_* */
	__u32 pad;		   /* 44: zero */
};				   /* 48 bytes */

struct xdpkv_reg_batch {
	__u32 n;	  /*  0: items used */
	__u32 pad;	  /*  4: zero */
	__u64 generation; /*  8: the registry generation the batch was checked at */
	struct xdpkv_reg_item items[XDPKV_NKEYS]; /* 16 */
};						  /* 3088 bytes */

/* A name character: [a-z0-9_.-]. */
static __always_inline int xdpkv_name_char_ok(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

#if defined(__bpf__)
/*
 * The registry map as BPF programs declare it (registry.bpf.c and programs
 * built with XDPKV_STRICT). A loader points it at DIR/registry with
 * bpf_map__reuse_fd() (xdpkv::Registry::bind), never by creating it.
 */
#define XDPKV_REGISTRY_MAP_DEF                        \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_ARRAY);     \
		__uint(max_entries, 1);               \
		__type(key, __u32);                   \
		__type(value, struct xdpkv_registry); \
	} xdpkv_registry SEC(".maps")
#endif

#endif /* XDPKV_REGISTRY_H */
