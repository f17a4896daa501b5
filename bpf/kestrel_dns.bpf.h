/* DNS lookups: UDP datagrams sent to port 53 by sendto, sendmsg and sendmmsg (glibc's resolver
 * connect()s a UDP socket to the server and sends with sendmmsg or send, which is sendto without
 * an address; systemd-resolved's clients query 127.0.0.53). Included by kestrel.bpf.c after its
 * helpers (fd_file, record_buf, fill_header, submit); records are struct kestrel_dns
 * (kestrel_records.h), parsed in user space (sources/ebpf/dns_parser.h).
 *
 * Cost: sys_enter of the three send syscalls calls dns_wanted() before anything else: the fd's
 * struct file, its inode mode (a socket?), the sock's protocol and family, then the destination
 * port (the address argument's, else the connected socket's). Only a UDP send to port 53 keeps its
 * arguments for sys_exit; every other send costs these few reads. At sys_exit the first
 * KESTREL_DNS_PAYLOAD_MAX bytes of the message's first iovec are copied (the kernel has read
 * them, so the pages are present), for at most the first two messages of a sendmmsg (glibc sends
 * the A and AAAA queries as two).
 * x86_64 only: the user structs below are x86_64's layouts. */
#ifndef KESTREL_DNS_BPF_H_
#define KESTREL_DNS_BPF_H_

#define KESTREL_IPPROTO_UDP 17
#define KESTREL_S_IFMT 00170000
#define KESTREL_S_IFSOCK 0140000
#define KESTREL_DNS_PORT 53

struct k_msghdr { /* struct user_msghdr */
  __u64 name;
  __s32 namelen;
  __u32 pad;
  __u64 iov;
  __u64 iovlen;
  __u64 control;
  __u64 controllen;
  __u32 flags;
  __u32 pad2;
};

struct k_mmsghdr { /* struct mmsghdr */
  struct k_msghdr hdr;
  __u32 len; /* bytes sent, written by the kernel */
  __u32 pad;
};

struct k_iovec {
  __u64 base;
  __u64 len;
};

static __always_inline int is_dns_send(long id) {
  return id == KSYS_SENDTO || id == KSYS_SENDMSG || id == KSYS_SENDMMSG;
}

/* The AF_INET/AF_INET6 UDP sock of descriptor `fd`, or NULL. */
static __always_inline struct sock* udp_sock(struct task_struct* task, long fd) {
  struct file* f = fd_file(task, fd);
  if (!f) return 0;
  umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
  if ((mode & KESTREL_S_IFMT) != KESTREL_S_IFSOCK) return 0;
  struct socket* sock = BPF_CORE_READ(f, private_data);
  struct sock* sk = BPF_CORE_READ(sock, sk);
  if (!sk || BPF_CORE_READ(sk, sk_protocol) != KESTREL_IPPROTO_UDP) return 0;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family != AF_INET && family != AF_INET6) return 0;
  return sk;
}

/* The port of a user sockaddr (host order), 0 when unreadable or not IP. */
static __always_inline __u16 user_port(__u64 uaddr) {
  struct {
    __u16 family;
    __u16 port;
  } sa = {};
  if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), (const void*)uaddr) != 0) return 0;
  if (sa.family != AF_INET && sa.family != AF_INET6) return 0;
  return bpf_ntohs(sa.port);
}

/* The destination address argument of a send (sendto's 5th argument, the msg_name of sendmsg or
 * of sendmmsg's first message), 0 for none. */
static __always_inline __u64 send_name(long id, __u64 arg1, __u64 r8) {
  if (id == KSYS_SENDTO) return r8;
  __u64 name = 0;
  /* msg_name is the first member of both msghdr and mmsghdr. */
  if (arg1) bpf_probe_read_user(&name, sizeof(name), (const void*)arg1);
  return name;
}

/* sys_enter: whether a send is a UDP datagram to port 53. */
static __noinline int dns_wanted(struct pt_regs* regs, long id) {
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  struct sock* sk = udp_sock(task, (int)BPF_CORE_READ(regs, di));
  if (!sk) return 0;
  __u64 name = send_name(id, BPF_CORE_READ(regs, si), BPF_CORE_READ(regs, r8));
  __u16 port = name ? user_port(name) : bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  return port == KESTREL_DNS_PORT;
}

struct dns_msg {
  __u64 name; /* user sockaddr, 0: the connected peer */
  __u64 base; /* first iovec */
  __u64 len;
  __u64 sent;
};

static __noinline int emit_dns_msg(struct task_struct* task, struct enter_args* a, long ret,
                                   struct dns_msg* m) {
  struct sock* sk = udp_sock(task, (int)a->a[0]);
  if (!sk) return 0;
  struct kestrel_dns* e = record_buf();
  if (!e) return 0;
  fill_header(&e->h, KESTREL_DNS, task);
  e->syscall = a->id;
  e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
  e->pad = 0;
  e->pad2 = 0;
  e->ret = ret;
  e->sent_len = m->sent;
  __builtin_memset(e->local_addr, 0, 16);
  __builtin_memset(e->remote_addr, 0, 16);
  /* Local end: the socket's, bound by the send at the latest. */
  e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  if (e->family == AF_INET) {
    __u32 addr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    __builtin_memcpy(e->local_addr, &addr, 4);
  } else {
    BPF_CORE_READ_INTO(e->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
  }
  if (m->name) {
    struct sockaddr_in6 sa = {};
    if (bpf_probe_read_user(&sa, sizeof(sa), (const void*)m->name) != 0) {
      bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), (const void*)m->name);
    }
    e->remote_port = bpf_ntohs(sa.sin6_port);
    if (sa.sin6_family == AF_INET) {
      struct sockaddr_in* in = (struct sockaddr_in*)&sa;
      __builtin_memcpy(e->remote_addr, &in->sin_addr.s_addr, 4);
    } else {
      __builtin_memcpy(e->remote_addr, &sa.sin6_addr, 16);
    }
    if (sa.sin6_family == AF_INET || sa.sin6_family == AF_INET6) e->family = sa.sin6_family;
  } else {
    e->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (e->family == AF_INET) {
      __u32 addr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
      __builtin_memcpy(e->remote_addr, &addr, 4);
    } else {
      BPF_CORE_READ_INTO(e->remote_addr, sk, __sk_common.skc_v6_daddr);
    }
  }
  __u64 n = m->len;
  if (n > KESTREL_DNS_PAYLOAD_MAX) n = KESTREL_DNS_PAYLOAD_MAX;
  e->payload_len = 0;
  if (n > 0 && n <= KESTREL_DNS_PAYLOAD_MAX &&
      bpf_probe_read_user(e->payload, n, (const void*)m->base) == 0) {
    e->payload_len = n;
  } else {
    e->h.flags |= KESTREL_F_READ_FAILED;
  }
  submit(e, offsetof(struct kestrel_dns, payload) + e->payload_len, sizeof(*e));
  return 0;
}

/* sys_exit of a send that dns_wanted() kept. */
static __noinline int emit_dns(struct task_struct* task, struct enter_args* a, long ret) {
  if (ret < 0) return 0;
  struct dns_msg m = {};
  if (a->id == KSYS_SENDTO) {
    m.name = a->a[3]; /* sys_enter saved r8 there */
    m.base = a->a[1];
    m.len = a->a[2];
    m.sent = ret;
    return emit_dns_msg(task, a, ret, &m);
  }
  if (a->id == KSYS_SENDMSG) {
    struct k_msghdr h = {};
    struct k_iovec v = {};
    if (bpf_probe_read_user(&h, sizeof(h), (const void*)a->a[1]) != 0 || h.iovlen == 0 ||
        bpf_probe_read_user(&v, sizeof(v), (const void*)h.iov) != 0) {
      return 0;
    }
    m.name = h.name;
    m.base = v.base;
    m.len = v.len;
    m.sent = ret;
    return emit_dns_msg(task, a, ret, &m);
  }
  /* sendmmsg: `ret` messages were sent. */
  for (int i = 0; i < 2; i++) {
    if (i >= ret) break;
    struct k_mmsghdr h = {};
    struct k_iovec v = {};
    if (bpf_probe_read_user(&h, sizeof(h), (const void*)(a->a[1] + i * sizeof(h))) != 0 ||
        h.hdr.iovlen == 0 || bpf_probe_read_user(&v, sizeof(v), (const void*)h.hdr.iov) != 0) {
      return 0;
    }
    m.name = h.hdr.name;
    m.base = v.base;
    m.len = v.len;
    m.sent = h.len;
    emit_dns_msg(task, a, ret, &m);
  }
  return 0;
}

#endif /* KESTREL_DNS_BPF_H_ */
