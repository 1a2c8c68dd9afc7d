"""A small Node.js base image built offline from files already on this machine.

No registry can be pulled from here (no ``node:20-alpine``), so the tests build their own base:
a root filesystem assembled in Python from host files and imported with ``docker import``.

What the image provides (recipe ``RECIPE``; layout follows the official ``node`` images):

- ``/bin/busybox`` from Debian's ``busybox-static``, with every applet it has linked into
  ``/bin``, ``/sbin``, ``/usr/bin`` and ``/usr/sbin`` (``sh``, ``env``, ``id``, ``su``, ``wget``,
  ``tar``, ...). Debian's busybox leaves out ``adduser``/``addgroup``, so the image has small
  shell stand-ins at ``/usr/sbin/adduser`` and ``/usr/sbin/addgroup`` that accept Alpine's
  syntax (``addgroup -g 1001 noderr && adduser -u 1001 -G noderr -D noderr``).
- ``/usr/local/bin/node``: the host's Node.js (``/usr/bin/node``) with the shared libraries
  ``ldd`` lists for it; npm at ``/usr/local/lib/node_modules/npm`` with ``npm``/``npx`` links.
- ``/sbin/tini`` (Debian's ``tini-static``), also reachable as ``/usr/bin/tini``.
- ``/etc/passwd``, ``/etc/group``, ``/etc/shadow`` with ``root`` and ``nobody``; ``/home``,
  ``/root``, ``/tmp`` (1777); ``PATH`` set; ``CMD ["node"]``.

The tar stream is deterministic (sorted entries, mtime 0, owner root), and the tag
``noderr-test/base:<hash>`` is a hash of the recipe and every file's path, mode and content, so a
second build finds the image and returns at once; a changed host file (e.g. a Node.js upgrade)
yields a new tag.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

import docker
import docker.errors

REPOSITORY = "noderr-test/base"
# Bump when the recipe changes in a way the hashed inputs below do not show.
RECIPE = "noderr-test-base/1"
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

HOST_BUSYBOX = "busybox"
HOST_NODE = "/usr/bin/node"
HOST_NPM = "/usr/lib/node_modules/npm"
HOST_TINI = "/usr/bin/tini-static"

_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
"""
_GROUP = """\
root:x:0:
nogroup:x:65534:
"""
_SHADOW = """\
root:*:0:0:99999:7:::
nobody:*:0:0:99999:7:::
"""
_NSSWITCH = """\
passwd: files
group: files
shadow: files
hosts: files dns
"""

# Alpine-compatible stand-ins for the busybox applets Debian leaves out. They cover the options
# Dockerfiles use; anything else fails loudly rather than doing something different.
_ADDGROUP = r"""#!/bin/sh
# noderr test base image: stand-in for busybox addgroup (left out of Debian's busybox).
#   addgroup [-g GID] [-S] GROUP    create GROUP
#   addgroup USER GROUP             add existing USER to existing GROUP
set -eu
gid= system=
while getopts g:S opt; do
  case $opt in
    g) gid=$OPTARG ;;
    S) system=1 ;;
    *) echo "usage: addgroup [-g GID] [-S] GROUP | addgroup USER GROUP" >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -eq 2 ]; then
  grep -q "^$1:" /etc/passwd || { echo "addgroup: unknown user '$1'" >&2; exit 1; }
  line=$(grep "^$2:" /etc/group) || { echo "addgroup: unknown group '$2'" >&2; exit 1; }
  case $line in *:) sep= ;; *) sep=, ;; esac
  sed -i "s/^$2:.*\$/&$sep$1/" /etc/group
  exit 0
fi
[ $# -eq 1 ] || { echo "usage: addgroup [-g GID] [-S] GROUP" >&2; exit 1; }
name=$1
if grep -q "^$name:" /etc/group; then echo "addgroup: group '$name' in use" >&2; exit 1; fi
if [ -n "$gid" ]; then
  if cut -d: -f3 /etc/group | grep -qx "$gid"; then
    echo "addgroup: gid '$gid' in use" >&2; exit 1
  fi
else
  if [ -n "$system" ]; then gid=100; else gid=1000; fi
  while cut -d: -f3 /etc/group | grep -qx "$gid"; do gid=$((gid + 1)); done
fi
echo "$name:x:$gid:" >> /etc/group
"""

_ADDUSER = r"""#!/bin/sh
# noderr test base image: stand-in for busybox adduser (left out of Debian's busybox).
#   adduser [-D] [-S] [-H] [-h HOME] [-s SHELL] [-g GECOS] [-G GROUP] [-u UID] USER
#   adduser USER GROUP     add existing USER to existing GROUP
# Without -G a group named like the user is created (gid = uid when free), as busybox does.
set -eu
home= shell=/bin/sh gecos="Linux User,,," group= uid= nohome= system=
while getopts DSHh:s:g:G:u:k: opt; do
  case $opt in
    D) ;;  # no password: the account stays locked ("!"), as with busybox -D
    S) system=1 ;;
    H) nohome=1 ;;
    h) home=$OPTARG ;;
    s) shell=$OPTARG ;;
    g) gecos=$OPTARG ;;
    G) group=$OPTARG ;;
    u) uid=$OPTARG ;;
    k) ;;
    *) echo "usage: adduser [-DSH] [-h HOME] [-s SHELL] [-g GECOS] [-G GROUP] [-u UID] USER" >&2
       exit 1 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -eq 2 ]; then exec addgroup "$1" "$2"; fi
[ $# -eq 1 ] || { echo "usage: adduser [OPTIONS] USER" >&2; exit 1; }
name=$1
if grep -q "^$name:" /etc/passwd; then echo "adduser: user '$name' in use" >&2; exit 1; fi
if [ -n "$uid" ]; then
  if cut -d: -f3 /etc/passwd | grep -qx "$uid"; then
    echo "adduser: uid '$uid' in use" >&2; exit 1
  fi
else
  if [ -n "$system" ]; then uid=100; else uid=1000; fi
  while cut -d: -f3 /etc/passwd | grep -qx "$uid"; do uid=$((uid + 1)); done
fi
if [ -z "$group" ]; then
  if cut -d: -f3 /etc/group | grep -qx "$uid"; then
    addgroup "$name"
  else
    addgroup -g "$uid" "$name"
  fi
  group=$name
fi
gid=$(grep "^$group:" /etc/group | cut -d: -f3)
[ -n "$gid" ] || { echo "adduser: unknown group '$group'" >&2; exit 1; }
[ -n "$home" ] || home=/home/$name
echo "$name:x:$uid:$gid:$gecos:$home:$shell" >> /etc/passwd
echo "$name:!:$(($(date +%s) / 86400)):0:99999:7:::" >> /etc/shadow
if [ -z "$nohome" ] && [ ! -e "$home" ]; then
  mkdir -p "$home"
  chown "$uid:$gid" "$home"
  chmod 755 "$home"
fi
"""


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


class BaseImageError(RuntimeError):
    """A host file the recipe needs is missing, or the import failed."""


@dataclass(frozen=True)
class Entry:
    """One member of the root filesystem. Exactly one of source/data/link is set for files."""

    path: str  # absolute path in the image
    mode: int
    kind: str  # "dir" | "file" | "symlink"
    source: Path | None = None  # host file to copy
    data: bytes | None = None  # literal content
    link: str | None = None  # symlink target

    def digest_into(self, digest: _Hasher) -> None:
        digest.update(f"{self.kind}\0{self.path}\0{self.mode:o}\0{self.link or ''}\0".encode())
        if self.data is not None:
            digest.update(self.data)
        elif self.source is not None:
            with self.source.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)


def _host_file(path: str, package: str) -> Path:
    found = Path(path) if Path(path).is_absolute() else Path(shutil.which(path) or path)
    if not found.is_file():
        raise BaseImageError(f"{path} not found: install the Debian package {package}")
    return found.resolve()


def _shared_libraries(binary: Path) -> list[tuple[str, Path]]:
    """(path in image, host file) for each library ``ldd`` lists, including the ELF loader."""
    result = subprocess.run(
        ["ldd", str(binary)], capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:  # "not a dynamic executable": nothing to add
        return []
    libraries: list[tuple[str, Path]] = []
    for line in result.stdout.splitlines():
        parts = line.split()
        # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux... (0x...)"
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            path = parts[2]
        elif parts and parts[0].startswith("/"):
            path = parts[0]
        else:
            continue  # linux-vdso.so.1 lives in the kernel
        libraries.append((path, Path(path).resolve()))
    return libraries


def _busybox_applets(busybox: Path) -> list[str]:
    result = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, timeout=30, check=True
    )
    return sorted("/" + line.strip() for line in result.stdout.splitlines() if line.strip())


def _tree(host_root: Path, image_root: str) -> Iterator[Entry]:
    """Every directory, file and symlink under ``host_root``, at ``image_root`` in the image."""
    for dirpath, dirnames, filenames in os.walk(host_root):
        dirnames.sort()
        relative = Path(dirpath).relative_to(host_root)
        image_dir = str(PurePosixPath(image_root) / relative.as_posix())
        yield Entry(image_dir, 0o755, "dir")
        for name in sorted(dirnames + filenames):
            host = Path(dirpath) / name
            image = f"{image_dir}/{name}"
            info = host.lstat()
            if stat.S_ISLNK(info.st_mode):
                yield Entry(image, 0o777, "symlink", link=str(host.readlink()))
            elif stat.S_ISREG(info.st_mode):
                yield Entry(image, stat.S_IMODE(info.st_mode), "file", source=host)


def plan_rootfs() -> list[Entry]:
    """Every entry of the base image's root filesystem, sorted, with parents before children."""
    busybox = _host_file(HOST_BUSYBOX, "busybox-static")
    node = _host_file(HOST_NODE, "nodejs")
    tini = _host_file(HOST_TINI, "tini")
    npm = Path(HOST_NPM)
    if not (npm / "bin" / "npm-cli.js").is_file():
        raise BaseImageError(f"{npm} not found: install the nodejs package (with npm)")

    entries: dict[str, Entry] = {}

    def add(entry: Entry) -> None:
        entries[entry.path] = entry

    for directory, mode in [
        ("/bin", 0o755), ("/sbin", 0o755), ("/usr/bin", 0o755), ("/usr/sbin", 0o755),
        ("/usr/local/bin", 0o755), ("/usr/local/sbin", 0o755), ("/usr/local/lib", 0o755),
        ("/etc", 0o755), ("/home", 0o755), ("/root", 0o700), ("/tmp", 0o1777),
        ("/var/tmp", 0o1777), ("/run", 0o755), ("/proc", 0o555), ("/sys", 0o555),
        ("/dev", 0o755), ("/opt", 0o755), ("/srv", 0o755),
    ]:  # fmt: skip
        add(Entry(directory, mode, "dir"))

    add(Entry("/bin/busybox", 0o755, "file", source=busybox))
    for applet in _busybox_applets(busybox):
        if applet != "/bin/busybox":
            add(Entry(applet, 0o777, "symlink", link="/bin/busybox"))
    add(Entry("/usr/sbin/addgroup", 0o755, "file", data=_ADDGROUP.encode()))
    add(Entry("/usr/sbin/adduser", 0o755, "file", data=_ADDUSER.encode()))

    add(Entry("/usr/local/bin/node", 0o755, "file", source=node))
    for image_path, host_path in _shared_libraries(node) + _shared_libraries(busybox):
        add(Entry(image_path, 0o755, "file", source=host_path))
    for entry in _tree(npm, "/usr/local/lib/node_modules/npm"):
        add(entry)
    add(Entry("/usr/local/lib/node_modules", 0o755, "dir"))
    for tool in ("npm", "npx"):
        link = f"../lib/node_modules/npm/bin/{tool}-cli.js"
        add(Entry(f"/usr/local/bin/{tool}", 0o777, "symlink", link=link))

    add(Entry("/sbin/tini", 0o755, "file", source=tini))
    add(Entry("/usr/bin/tini", 0o777, "symlink", link="/sbin/tini"))

    add(Entry("/etc/passwd", 0o644, "file", data=_PASSWD.encode()))
    add(Entry("/etc/group", 0o644, "file", data=_GROUP.encode()))
    add(Entry("/etc/shadow", 0o640, "file", data=_SHADOW.encode()))
    add(Entry("/etc/nsswitch.conf", 0o644, "file", data=_NSSWITCH.encode()))

    # Parent directories of everything (e.g. /lib/x86_64-linux-gnu, /lib64) must exist in the tar.
    for path in list(entries):
        for parent in PurePosixPath(path).parents:
            if str(parent) != "/" and str(parent) not in entries:
                add(Entry(str(parent), 0o755, "dir"))
    return [entries[path] for path in sorted(entries)]


def image_tag(plan: Iterable[Entry]) -> str:
    """``noderr-test/base:<hash of recipe, paths, modes and contents>``."""
    digest = hashlib.sha256(RECIPE.encode())
    for entry in plan:
        entry.digest_into(digest)
    return f"{REPOSITORY}:{digest.hexdigest()[:16]}"


def write_rootfs_tar(plan: Iterable[Entry], fileobj: IO[bytes]) -> None:
    """Write the plan as an uncompressed, deterministic tar stream."""
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in plan:
            info = tarfile.TarInfo(entry.path.lstrip("/"))
            info.mode = entry.mode
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = entry.link or ""
                tar.addfile(info)
            elif entry.data is not None:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            elif entry.source is not None:
                info.size = entry.source.stat().st_size
                with entry.source.open("rb") as handle:
                    tar.addfile(info, handle)


def build_base_image(client: docker.DockerClient) -> str:
    """Build the base image unless an image with its tag exists; return the tag.

    Needs no network: every file comes from this machine (packages busybox-static, tini and
    nodejs). Cold: a few seconds (dominated by importing the ~130 MB root filesystem); warm:
    hashing the inputs (~0.2 s).
    """
    plan = plan_rootfs()
    tag = image_tag(plan)
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    repository, _, version = tag.partition(":")
    with tempfile.TemporaryDirectory(prefix="noderr-base-") as workdir:
        archive = Path(workdir) / "rootfs.tar"
        with archive.open("wb") as handle:
            write_rootfs_tar(plan, handle)
        # From a file path the SDK streams the upload with no read timeout (the default 60 s
        # could cut a slow import short).
        output = client.api.import_image_from_file(
            str(archive),
            repository=repository,
            tag=version,
            changes=[
                f"ENV PATH={IMAGE_PATH}",
                f'LABEL org.noderr.test-base.recipe="{RECIPE}"',
                'CMD ["node"]',
            ],
        )
    # Like push, import reports failure inside its JSON stream, not as an exception.
    for line in str(output).splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and ("errorDetail" in message or "error" in message):
            raise BaseImageError(f"docker import of {tag} failed: {message}")
    client.images.get(tag)  # raises ImageNotFound if the import silently did nothing
    return tag
