// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv key registry: allocation of key ids by name, in the kernel.
 * BPF_PROG_TYPE_SYSCALL programs run through BPF_PROG_TEST_RUN with a
 * struct xdpkv_reg_req as context (in/out). Every change of the registry
 * value happens under its bpf_spin_lock, so concurrent registrants in any
 * process are serialised; inside the locked region there are no helper or
 * function calls (the verifier forbids them), only bounded loops.
 * Layout and protocol: <xdpkv/registry.h>, docs/REGISTRY.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <xdpkv/registry.h>

XDPKV_REGISTRY_MAP_DEF;

/* A request's name as four words, validated: [a-z0-9_.-]{1,31}, NUL-padded. */
struct name_words {
	__u64 w[4];
};

static __always_inline int read_name(struct xdpkv_reg_req *req, struct name_words *n)
{
	int ended = 0, len = 0;

	__builtin_memcpy(n->w, req->name, sizeof(n->w));
	for (int i = 0; i < XDPKV_NAME_MAX; i++) {
		__u8 c = (__u8)(n->w[i / 8] >> ((i % 8) * 8));

		if (ended) {
			if (c)	/* bytes after the NUL must be NUL: one spelling per name */
				return -EINVAL;
			continue;
		}
		if (!c) {
			ended = 1;
			len = i;
			continue;
		}
		if (!xdpkv_name_char_ok(c))
			return -EINVAL;
	}
	if (!ended || len == 0)
		return -EINVAL;
	return 0;
}

static __always_inline struct xdpkv_registry *registry(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xdpkv_registry, &zero);
}

static __always_inline int finish(struct xdpkv_reg_req *req, int ret)
{
	req->ret = ret;
	return ret;
}

static __always_inline int same_name(const struct xdpkv_reg_entry *e, const struct name_words *n)
{
	const __u64 *w = (const __u64 *)e->name;

	return w[0] == n->w[0] && w[1] == n->w[1] && w[2] == n->w[2] && w[3] == n->w[3];
}

/* The id registered under n, or -1. Inline: it runs under the spin lock. */
static __always_inline int find_name(const struct xdpkv_registry *r, const struct name_words *n)
{
	for (int i = 0; i < XDPKV_NKEYS; i++)
		if (((r->used >> i) & 1) && same_name(&r->keys[i], n))
			return i;
	return -1;
}

/* Initialise an all-zero value; check magic and version of an existing one. */
SEC("syscall")
int xdpkv_reg_init(struct xdpkv_reg_req *req)
{
	struct xdpkv_registry *r = registry();
	int ret = 0;

	if (!r)
		return finish(req, -ENOENT);
	bpf_spin_lock(&r->lock);
	if (r->magic == 0 && r->version == 0 && r->used == 0) {
		r->magic = XDPKV_REGISTRY_MAGIC;
		r->version = XDPKV_REGISTRY_VERSION;
		r->reserved = XDPKV_RESERVED_MASK;
		r->generation = 1;
	} else if (r->magic != XDPKV_REGISTRY_MAGIC) {
		ret = -EBADMSG;
	} else if (r->version != XDPKV_REGISTRY_VERSION) {
		ret = -EPROTO;
	}
	req->owner_uid = r->version;
	bpf_spin_unlock(&r->lock);
	return finish(req, ret);
}

/*
 * register(name, size[, id]) -> id. Idempotent for the same name and size;
 * -EEXIST for the same name with another size (or, with a wanted id,
 * registered at another id); -EBUSY when the wanted id holds another name;
 * -EINVAL for a bad name/size or a reserved or out-of-range wanted id;
 * -ENOSPC when every assignable id is taken.
 */
SEC("syscall")
int xdpkv_reg_register(struct xdpkv_reg_req *req)
{
	struct xdpkv_registry *r = registry();
	struct name_words n;
	__u64 uid_gid, now, comm[2] = {};
	__u32 size = req->size;
	__s32 want = req->id;
	int found = -1, id = -1, ret = 0;
	__u32 cur_size = 0;

	if (!r)
		return finish(req, -ENOENT);
	if (read_name(req, &n))
		return finish(req, -EINVAL);
	if (size != 2 && size != 4 && size != 8)
		return finish(req, -EINVAL);
	if (want < -1 || want > XDPKV_MAX_KEY)
		return finish(req, -EINVAL);
	uid_gid = bpf_get_current_uid_gid();
	bpf_get_current_comm(comm, sizeof(comm));
	now = req->now_ns;

	bpf_spin_lock(&r->lock);
	if (r->magic != XDPKV_REGISTRY_MAGIC || r->version != XDPKV_REGISTRY_VERSION) {
		ret = -EPROTO;
		goto unlock;
	}
	if (want >= 0 && ((r->reserved >> want) & 1)) {
		ret = -EINVAL;
		goto unlock;
	}
	found = find_name(r, &n);	/* the name, if registered */
	if (found >= 0 && found < XDPKV_NKEYS) {
		id = found;
		cur_size = r->keys[found].size;
		if (cur_size != size || (want >= 0 && want != found))
			ret = -EEXIST;
		goto unlock;
	}
	/* A new name: the wanted id, or the lowest free assignable one. */
	if (want >= 0) {
		if ((r->used >> want) & 1) {
			const __u64 *hw = (const __u64 *)r->keys[want & XDPKV_MAX_KEY].name;

			__builtin_memcpy(n.w, hw, sizeof(n.w));	/* reported below */
			id = want;
			ret = -EBUSY;
			goto unlock;
		}
		id = want;
	} else {
		__u64 taken = r->used | r->reserved;

		for (int i = 0; i < XDPKV_NKEYS; i++) {
			if (!((taken >> i) & 1)) {
				id = i;
				break;
			}
		}
		if (id < 0) {
			ret = -ENOSPC;
			goto unlock;
		}
	}
	if (id >= 0 && id < XDPKV_NKEYS) {
		struct xdpkv_reg_entry *e = &r->keys[id];
		__u64 *ew = (__u64 *)e->name, *ow = (__u64 *)e->owner;

		ew[0] = n.w[0];
		ew[1] = n.w[1];
		ew[2] = n.w[2];
		ew[3] = n.w[3];
		e->size = size;
		e->owner_uid = (__u32)uid_gid;
		e->registered_ns = now;
		ow[0] = comm[0];
		ow[1] = comm[1];
		r->used |= 1ULL << id;
		r->generation++;
		cur_size = size;
	}
unlock:
	bpf_spin_unlock(&r->lock);

	req->id = id;
	req->size = cur_size ? cur_size : size;
	if (ret == -EBUSY)
		__builtin_memcpy(req->holder, n.w, sizeof(n.w));
	if (!ret && id >= 0 && id < XDPKV_NKEYS) {
		req->owner_uid = (__u32)uid_gid;
		__builtin_memcpy(req->owner, comm, sizeof(comm));
	}
	return finish(req, ret);
}

/* unregister(name): frees its id; -ENOENT if it is not registered. */
SEC("syscall")
int xdpkv_reg_unregister(struct xdpkv_reg_req *req)
{
	struct xdpkv_registry *r = registry();
	struct name_words n;
	int found = -1, ret = 0;

	if (!r)
		return finish(req, -ENOENT);
	if (read_name(req, &n))
		return finish(req, -EINVAL);

	bpf_spin_lock(&r->lock);
	if (r->magic != XDPKV_REGISTRY_MAGIC || r->version != XDPKV_REGISTRY_VERSION) {
		ret = -EPROTO;
		goto unlock;
	}
	found = find_name(r, &n);
	if (found >= 0 && found < XDPKV_NKEYS) {
		struct xdpkv_reg_entry *e = &r->keys[found];
		__u64 *ew = (__u64 *)e->name, *ow = (__u64 *)e->owner;

		req->size = e->size;
		r->used &= ~(1ULL << found);
		ew[0] = ew[1] = ew[2] = ew[3] = 0;
		ow[0] = ow[1] = 0;
		e->size = 0;
		e->owner_uid = 0;
		e->registered_ns = 0;
		r->generation++;
	} else {
		ret = -ENOENT;
	}
unlock:
	bpf_spin_unlock(&r->lock);
	req->id = found;
	return finish(req, ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
