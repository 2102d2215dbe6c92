"""A misbehaving link-local peer, run in a network namespace by the tests:

- ``stream HOST PORT FROM TO KIND``: opens an XML stream to HOST:PORT as FROM and sends
  KIND (``oversize``: a 600 KiB stanza; ``dtd``: a DOCTYPE with entities; ``hello``: a
  small message), then prints ``{"got": <what came back>, "closed": bool}``.
- ``flood N``: publishes N ``_presence._tcp`` services (hostile names and TXT fields
  among them) as fast as it can, prints ``{"published": N}``, and keeps them up until
  stdin closes.
- ``announce NAME``: publishes one ``_presence._tcp`` service named NAME (its own
  address, port 5298 where nothing listens), prints ``{"announced": NAME}``, and
  withdraws it (a goodbye) when stdin closes.
- ``hold HOST PORT N``: opens N TCP connections to HOST:PORT that never say a word,
  prints ``{"opened": N}`` and keeps them (those the other side has not closed) until
  stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys

HEADER = (
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' from='{frm}' to='{to}' version='1.0'>"
)


def stream(host: str, port: int, frm: str, to: str, kind: str) -> None:
    sock = socket.create_connection((host, port), timeout=10)
    got = b""
    closed = False
    try:
        if kind == "dtd":
            sock.sendall(
                b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'>"
                b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
            )
        sock.sendall(HEADER.format(frm=frm, to=to).encode())
        if kind == "oversize":
            sock.sendall(f"<message to='{to}' type='chat'><body>".encode())
            chunk = b"x" * 65536
            try:
                for _ in range(10):
                    sock.sendall(chunk)
            except OSError:
                pass
        elif kind == "hello":
            sock.sendall(
                f"<message to='{to}' type='chat' id='bad1'><body>hello from {frm}</body>"
                "</message>".encode()
            )
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not data:
                closed = True
                break
            got += data
    finally:
        sock.close()
    print(json.dumps({"got": got.decode(errors="replace"), "closed": closed}), flush=True)


async def flood(count: int) -> None:
    import ifaddr
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    addresses = [
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]
    zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    names = [f"flood{i}@evil" for i in range(count)]
    names[0] = "rtl\u202ename@evil"
    tasks = []
    for i, name in enumerate(names):
        info = AsyncServiceInfo(
            "_presence._tcp.local.",
            f"{name}._presence._tcp.local.",
            port=5298,
            properties={
                "txtvers": "1",
                "nick": ("N\x1b[31m\u202e" + "n" * 200) if i < 3 else f"flood {i}",
                "status": "avail",
                "msg": "m" * 200,
            },
            server=f"flood-{i}.local.",
            parsed_addresses=addresses,
        )
        tasks.append(await zc.async_register_service(info, cooperating_responders=True))
    await asyncio.gather(*tasks)
    print(json.dumps({"published": count}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await zc.async_close()


async def announce(name: str) -> None:
    import ifaddr
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    addresses = [
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]
    zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    info = AsyncServiceInfo(
        "_presence._tcp.local.",
        f"{name}._presence._tcp.local.",
        port=5298,
        properties={"txtvers": "1", "nick": "mallory", "status": "avail"},
        server="mallory.local.",
        parsed_addresses=addresses,
    )
    await (await zc.async_register_service(info, cooperating_responders=True))
    print(json.dumps({"announced": name}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await (await zc.async_unregister_service(info))
    await zc.async_close()


def hold(host: str, port: int, count: int) -> None:
    held = []
    for _ in range(count):
        held.append(socket.create_connection((host, port), timeout=10))
    print(json.dumps({"opened": count}), flush=True)
    sys.stdin.read()
    for sock in held:
        sock.close()


if __name__ == "__main__":
    if sys.argv[1] == "stream":
        stream(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
    elif sys.argv[1] == "announce":
        asyncio.run(announce(sys.argv[2]))
    elif sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        asyncio.run(flood(int(sys.argv[2])))
