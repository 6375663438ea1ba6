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

/* The importer's batch: private to each opener's skeleton, never pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpkv_reg_batch);
} xdpkv_reg_batch SEC(".maps");

/*
 * Ids never handed out: the compile-time mask, never the map's copy, so a
 * tampered value cannot make register give away the hint keys.
 */
#define RESERVED XDPKV_RESERVED_MASK

/* A request's name as four words, validated: [a-z0-9_.-]{1,31}, NUL-padded. */
struct name_words {
	__u64 w[4];
};

static __always_inline int read_name(const char *name, struct name_words *n)
{
	int ended = 0, len = 0;

	__builtin_memcpy(n->w, name, sizeof(n->w));
	for (int i = 0; i < XDPKV_NAME_MAX; i++) {
		__u8 c = (__u8)(n->w[i / 8] >> ((i % 8) * 8));

		if (ended) {
			if (c) /* bytes after the NUL must be NUL: one spelling per name */
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

/* Under the lock: 0, -EPROTO (other magic or version), -EBADMSG (tampered reserved copy). */
static __always_inline int check_locked(const struct xdpkv_registry *r)
{
	if (r->magic != XDPKV_REGISTRY_MAGIC || r->version != XDPKV_REGISTRY_VERSION)
		return -EPROTO;
	if (r->reserved != RESERVED || (r->used & RESERVED) || r->next > XDPKV_MAX_KEY)
		return -EBADMSG;
	return 0;
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
		r->reserved = RESERVED;
		r->generation = 1;
	} else if (r->magic != XDPKV_REGISTRY_MAGIC) {
		ret = -EBADMSG;
	} else if (r->version != XDPKV_REGISTRY_VERSION) {
		ret = -EPROTO;
	} else if (r->reserved == XDPKV_RESERVED_MASK_PRE_ORIGIN && !(r->used & RESERVED)) {
		/* Made before id 59 was reserved, and 59 is free: reserve it. */
		r->reserved = RESERVED;
	}
	req->owner_uid = r->version;
	bpf_spin_unlock(&r->lock);
	return finish(req, ret);
}

/*
 * Under the lock: writes a new entry. The comm's last byte is always its NUL
 * (bpf_get_current_comm); the entry keeps that byte for the scope, written
 * after the comm.
 */
static __always_inline void fill_entry(struct xdpkv_reg_entry *e, const __u64 *name, __u32 size,
				       __u32 scope, __u32 uid, __u64 now, const __u64 *comm)
{
	__u64 *ew = (__u64 *)e->name, *ow = (__u64 *)e->owner;

	ew[0] = name[0];
	ew[1] = name[1];
	ew[2] = name[2];
	ew[3] = name[3];
	e->size = size;
	e->owner_uid = uid;
	e->registered_ns = now;
	ow[0] = comm[0];
	ow[1] = comm[1];
	e->scope = scope;
}

/*
 * Under the lock: the next free assignable id after the last handed out
 * (round-robin, so a freed id is reused last), or -1.
 */
static __always_inline int next_free(const struct xdpkv_registry *r)
{
	__u64 taken = r->used | RESERVED;
	__u32 start = r->next;

	for (int i = 0; i < XDPKV_NKEYS; i++) {
		int j = (start + i) & XDPKV_MAX_KEY;

		if (!((taken >> j) & 1))
			return j;
	}
	return -1;
}

/* A register request's name, size, scope and wanted id: 0 or -EINVAL. */
static __always_inline int check_register(const struct xdpkv_reg_req *req, struct name_words *n,
					  __s32 want)
{
	if (read_name(req->name, n))
		return -EINVAL;
	if (!xdpkv_value_size_ok(req->size) || req->scope > XDPKV_SCOPE_MAX)
		return -EINVAL;
	if (want < -1 || want > XDPKV_MAX_KEY)
		return -EINVAL;
	if (want >= 0 && ((RESERVED >> want) & 1))
		return -EINVAL;
	return 0;
}

/* register's other outputs: the holder of the wanted id (-EBUSY), the registrant (0). */
static __always_inline int reply(struct xdpkv_reg_req *req, int ret,
				 const struct name_words *holder, __u32 uid, const __u64 *comm)
{
	if (ret == -EBUSY)
		__builtin_memcpy(req->holder, holder->w, sizeof(holder->w));
	if (!ret) {
		req->owner_uid = uid;
		__builtin_memcpy(req->owner, comm, 2 * sizeof(*comm));
	}
	return finish(req, ret);
}

/*
 * register(name, size[, id], scope) -> id. Idempotent for the same name and
 * size and a compatible scope (xdpkv_scope_compatible: an unset entry stays
 * unset); -EEXIST for the same name with another size or scope (or, with a
 * wanted id, registered at another id); -EBUSY when the wanted id holds
 * another name; -EINVAL for a bad name/size/scope or a reserved or
 * out-of-range wanted id; -ENOSPC when every assignable id is taken. Out:
 * the size and scope the name holds, and created = 1 when this request made
 * the entry (0 when the name was already registered).
 */
SEC("syscall")
int xdpkv_reg_register(struct xdpkv_reg_req *req)
{
	struct xdpkv_registry *r = registry();
	struct name_words n;
	__u64 uid_gid, comm[2] = {};
	__u32 size = req->size, scope = req->scope;
	__s32 want = req->id;
	int id = -1, ret;

	req->created = 0;
	if (!r)
		return finish(req, -ENOENT);
	if (check_register(req, &n, want))
		return finish(req, -EINVAL);
	uid_gid = bpf_get_current_uid_gid();
	bpf_get_current_comm(comm, sizeof(comm));

	bpf_spin_lock(&r->lock);
	ret = check_locked(r);
	if (ret)
		goto unlock;
	id = find_name(r, &n); /* the name, if registered */
	if (id >= 0 && id < XDPKV_NKEYS) {
		const struct xdpkv_reg_entry *e = &r->keys[id];

		if (e->size != size || (want >= 0 && want != id) ||
		    !xdpkv_scope_compatible(e->scope, scope))
			ret = -EEXIST;
		size = e->size;
		scope = e->scope;
		goto unlock;
	}
	/* A new name: the wanted id, or the next free one. */
	if (want >= 0 && ((r->used >> want) & 1)) {
		const __u64 *hw = (const __u64 *)r->keys[want & XDPKV_MAX_KEY].name;

		__builtin_memcpy(n.w, hw, sizeof(n.w)); /* reported below */
		id = want;
		ret = -EBUSY;
		goto unlock;
	}
	id = want >= 0 ? want : next_free(r);
	if (id < 0 || id >= XDPKV_NKEYS) {
		id = -1;
		ret = -ENOSPC;
		goto unlock;
	}
	if (want < 0)
		r->next = (id + 1) & XDPKV_MAX_KEY;
	fill_entry(&r->keys[id], n.w, size, scope, (__u32)uid_gid, req->now_ns, comm);
	req->created = 1; /* under the lock: exactly one registrant is told it made the entry */
	r->used |= 1ULL << id;
	r->key_gen[id]++;
	r->generation++;
unlock:
	bpf_spin_unlock(&r->lock);

	req->id = id;
	req->size = size;
	req->scope = scope;
	return reply(req, ret, &n, (__u32)uid_gid, comm);
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
	if (read_name(req->name, &n))
		return finish(req, -EINVAL);

	bpf_spin_lock(&r->lock);
	ret = check_locked(r);
	if (ret)
		goto unlock;
	found = find_name(r, &n);
	if (found >= 0 && found < XDPKV_NKEYS) {
		struct xdpkv_reg_entry *e = &r->keys[found];
		__u64 *ew = (__u64 *)e->name, *ow = (__u64 *)e->owner;

		req->size = e->size;
		r->used &= ~(1ULL << found);
		ew[0] = ew[1] = ew[2] = ew[3] = 0;
		ow[0] = ow[1] = 0; /* and the scope */
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

/*
 * import: every item of the caller's batch (xdpkv_reg_batch) at its id, all
 * or nothing, in one locked region. The caller checked the batch against a
 * copy of the registry at batch->generation; if the generation moved since,
 * -EAGAIN and nothing is written (the caller re-checks and retries). Out:
 * ret 0, or -EINVAL (id = the bad item: its name, size, scope or id),
 * -EAGAIN, -EBUSY (an id is taken), -EPROTO / -EBADMSG as for register.
 */
struct check_ctx {
	__u64 ids; /* the batch's ids so far */
	int bad;   /* the first bad item, or -1 */
};

/* bpf_loop callback: item i of the batch is a valid, new, unreserved assignment. */
static long check_item(__u32 i, void *ctx)
{
	struct check_ctx *c = ctx;
	struct xdpkv_reg_batch *b;
	struct xdpkv_reg_item *it;
	struct name_words w;
	__u32 zero = 0;
	__s32 id;

	b = bpf_map_lookup_elem(&xdpkv_reg_batch, &zero);
	if (!b || i >= XDPKV_NKEYS)
		goto bad;
	it = &b->items[i];
	id = it->id;
	if (read_name(it->name, &w))
		goto bad;
	if (!xdpkv_value_size_ok(it->size) || it->scope > XDPKV_SCOPE_MAX)
		goto bad;
	if (id < 0 || id > XDPKV_MAX_KEY || ((RESERVED >> id) & 1) || ((c->ids >> id) & 1))
		goto bad;
	c->ids |= 1ULL << id;
	return 0;
bad:
	c->bad = i;
	return 1;
}

SEC("syscall")
int xdpkv_reg_import(struct xdpkv_reg_req *req)
{
	struct xdpkv_registry *r = registry();
	struct xdpkv_reg_batch *b;
	struct check_ctx chk = { .ids = 0, .bad = -1 };
	__u64 uid_gid, now, comm[2] = {}, ids;
	__u32 zero = 0, n;
	int ret = 0;

	b = bpf_map_lookup_elem(&xdpkv_reg_batch, &zero);
	if (!r || !b)
		return finish(req, -ENOENT);
	n = b->n;
	if (n > XDPKV_NKEYS)
		return finish(req, -EINVAL);
	/* bpf_loop: 64 items x 32 name bytes unrolled is too much for the verifier. */
	bpf_loop(n, check_item, &chk, 0);
	if (chk.bad >= 0) {
		req->id = chk.bad;
		return finish(req, -EINVAL);
	}
	ids = chk.ids;
	req->id = -1;
	uid_gid = bpf_get_current_uid_gid();
	bpf_get_current_comm(comm, sizeof(comm));
	now = req->now_ns;

	bpf_spin_lock(&r->lock);
	ret = check_locked(r);
	if (ret)
		goto unlock;
	if (r->generation != b->generation) {
		ret = -EAGAIN;
		goto unlock;
	}
	if (r->used & ids) {
		ret = -EBUSY;
		goto unlock;
	}
	for (int i = 0; i < XDPKV_NKEYS; i++) {
		struct xdpkv_reg_item *it = &b->items[i];
		int id;

		if (i >= n)
			break;
		id = it->id & XDPKV_MAX_KEY;
		fill_entry(&r->keys[id], (const __u64 *)it->name, it->size, it->scope,
			   (__u32)uid_gid, now, comm);
		r->key_gen[id]++;
		r->generation++;
	}
	r->used |= ids;
unlock:
	bpf_spin_unlock(&r->lock);
	return finish(req, ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
