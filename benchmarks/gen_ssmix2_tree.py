"""Write a synthetic SS-MIX2 standardized storage tree for benchmarks.

Real layout and encoding: ``<root>/<id[0:3]>/<id[3:6]>/<id>/<date|->/<kind>/<id>_<date>_<kind>_
<order>_<sent 17 digits>_<dept>_<flag>``, ISO-2022-JP bytes, CR terminators, trailing 0x1C on
most files (as in real storage). Messages are the real NHO sample messages
(``benchmarks/ssmix2_templates``) with the patient ID, order/specimen numbers and MSH-10
substituted. Per patient (10 messages): ADT-00 and PPR-01 (date ``-``), an admission ADT-22
and a discharge ADT-52, 3 OMP-01 prescriptions and 3 OML-11 lab results; every 20th patient
also has a superseded (flag 2) version of one prescription. Deterministic.

    python benchmarks/gen_ssmix2_tree.py ROOT --messages 100000
"""

from __future__ import annotations

import argparse
import os
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "ssmix2_templates"

# template → (patient id, order numbers, specimen numbers, MSH-10) as written in it
T_PID = {"ADT-00": "9999013", "ADT-22": "9999013", "ADT-52": "9999013", "PPR-01": "1234567890",
         "OMP-01": "9999013", "OML-11": "0001000052"}  # fmt: skip
T_ORDERS = {"OMP-01": ["000000011000185"], "OML-11": ["000000011000354"],
            "PPR-01": ["123456789012345"]}  # fmt: skip
T_SPECIMEN = "000000001219001"
MESSAGES_PER_PATIENT = 10


def _load() -> dict[str, str]:
    out = {}
    for p in TEMPLATES.glob("*.hl7"):
        out[p.stem] = p.read_bytes().rstrip(b"\x1c\r\n").decode("iso2022_jp")
    return out


FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
          ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
          ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
          ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
          ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ")]  # fmt: skip
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("裕子", "ユウコ"),
         ("健", "ケン"), ("美穂", "ミホ"), ("誠", "マコト"), ("恵子", "ケイコ"), ("翔", "ショウ"),
         ("直美", "ナオミ"), ("大輔", "ダイスケ"), ("由美", "ユミ"), ("浩", "ヒロシ")]  # fmt: skip
_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{6})(?=[0-9]{0,10}(?![0-9]))")


def _vary(text: str, n: int) -> str:
    """Patient ``n``'s own name and dates (all dates shifted by ``n`` days, birth dates too):
    without this every patient would repeat the template's values, which flatters any cache
    on the read path."""
    fam, giv = FAMILY[n % len(FAMILY)], GIVEN[(n // len(FAMILY)) % len(GIVEN)]
    text = text.replace("患者^太郎", f"{fam[0]}^{giv[0]}").replace(
        "カンジャ^タロウ", f"{fam[1]}^{giv[1]}"
    )
    shift = timedelta(days=n % 3650)

    def moved(m: re.Match[str]) -> str:
        try:
            return (datetime.strptime(m.group(1), "%Y%m%d") + shift).strftime("%Y%m%d")
        except ValueError:
            return m.group(1)

    return _DATE.sub(moved, text)


def _msg(tpl: dict[str, str], kind: str, pid: str, order: str, ctrl: str, spec: str = "",
         n: int = 0) -> bytes:  # fmt: skip
    text = _vary(tpl[kind], n)
    lines = text.split("\r")
    msh = lines[0].split("|")
    msh[9] = ctrl
    lines[0] = "|".join(msh)
    text = "\r".join(lines).replace(T_PID[kind], pid)
    for o in T_ORDERS.get(kind, []):
        text = text.replace(o, order)
    if spec:
        text = text.replace(T_SPECIMEN, spec)
    return text.encode("iso2022_jp") + b"\r"


def _write(root: Path, pid: str, date: str, kind: str, order: str, sent: str, dept: str,
           flag: str, data: bytes, trailer: bool) -> None:  # fmt: skip
    d = root / pid[0:3] / pid[3:6] / pid / date / kind
    d.mkdir(parents=True, exist_ok=True)
    name = f"{pid}_{date}_{kind}_{order}_{sent}_{dept}_{flag}"
    with open(d / name, "wb") as fh:
        fh.write(data + (b"\x1c" if trailer else b""))


def write_patient(root: Path, tpl: dict[str, str], n: int, first_id: int = 1) -> int:
    """Write patient number ``n``; returns the number of files written."""
    pid = f"{first_id + n:010d}"
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    d1 = f"2025{month:02d}{day:02d}"
    d2 = f"2025{month:02d}{min(day + 3, 28):02d}"
    files = 0

    def sent(date: str, k: int) -> str:
        return f"{date}{9 + k % 8:02d}{(n * 7 + k) % 60:02d}00{k % 1000:03d}"

    def put(date: str, kind: str, order: str, k: int, data: bytes, flag: str = "1") -> None:
        nonlocal files
        dept = "-" if kind == "ADT-00" else "01"
        _write(root, pid, date, kind, order, sent(date if date != "-" else d1, k), dept, flag,
               data, trailer=(files + n) % 7 != 0)  # fmt: skip
        files += 1

    nines = "9" * 15
    put("-", "ADT-00", nines, 0, _msg(tpl, "ADT-00", pid, "", f"{pid}00", n=n))
    put("-", "PPR-01", nines, 1, _msg(tpl, "PPR-01", pid, f"{n:09d}000001", f"{pid}01", n=n))
    put(d1, "ADT-22", nines, 2, _msg(tpl, "ADT-22", pid, "", f"{pid}02", n=n))
    put(d2, "ADT-52", nines, 3, _msg(tpl, "ADT-52", pid, "", f"{pid}03", n=n))
    for j in range(3):
        order = f"{n:010d}1{j:04d}"
        put(d1, "OMP-01", order, 4 + j, _msg(tpl, "OMP-01", pid, order, f"{pid}1{j}", n=n))
        if n % 20 == 0 and j == 0:  # an update: the older version is flag 2
            put(d1, "OMP-01", order, 3, _msg(tpl, "OMP-01", pid, order, f"{pid}1{j}x", n=n), "2")
    for j in range(3):
        order = f"{n:010d}2{j:04d}"
        spec = f"{n:010d}3{j:04d}"
        put(d2, "OML-11", order, 7 + j, _msg(tpl, "OML-11", pid, order, f"{pid}2{j}", spec, n=n))
    return files


def generate(root: Path, messages: int, first_id: int = 1, start: int = 0) -> int:
    tpl = _load()
    patients = -(-messages // MESSAGES_PER_PATIENT)
    total = 0
    for n in range(start, start + patients):
        total += write_patient(root, tpl, n, first_id)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--start", type=int, default=0, help="first patient number (to grow a tree)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    os.makedirs(a.root, exist_ok=True)
    n = generate(a.root, a.messages, start=a.start)
    print(f"wrote {n} files under {a.root} in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
