"""Makes the tiny NumPy test files next to this script (run: python3 make_npy.py; numpy 1.x or 2.x).

Every file holds the same counts, value(s, l, e) = 100 * s + 10 * l + e, in the dtype, header version,
shape and container its name gives, so the Java tests (NumpyFilesTest) can recompute what each should
decode to. Shapes: [3 steps, 2 layers, 5 experts]; the 2d files are [3 steps, 5 experts] (layer 0).
Also two bad files: fortran.npy (Fortran order) and f2.npy (float16, an unsupported dtype).
"""
import gzip
import numpy as np
from numpy.lib import format as npf

S, L, E = 3, 2, 5
base = np.fromfunction(lambda s, l, e: 100 * s + 10 * l + e, (S, L, E), dtype=np.int64)

def save(name, arr, version=None):
    with open(name, "wb") as f:
        npf.write_array(f, arr, version=version, allow_pickle=False)

for dt in ["<i1", "<i2", "<i4", "<i8", "<u1", "<u2", "<u4", "<u8", "<f4", "<f8", ">i4", ">i8", ">f8"]:
    a = base if dt[1:] not in ("i1", "u1") else base % 128  # int8/uint8 cannot hold 215
    name = dt.replace("<", "le-").replace(">", "be-")
    save(name + ".npy", a.astype(dt))
save("le-i4-2d.npy", base[:, 0, :].astype("<i4"))
save("le-i4-v2.npy", base.astype("<i4"), version=(2, 0))
save("le-i4-v3.npy", base.astype("<i4"), version=(3, 0))
np.savez("one-array.npz", counts=base.astype("<i4"))
np.savez_compressed("one-array-compressed.npz", base.astype("<i8"))
with open("le-i4.npy", "rb") as f, gzip.open("le-i4.npy.gz", "wb") as g:
    g.write(f.read())
save("fortran.npy", np.asfortranarray(base.astype("<i4")))
save("f2.npy", base.astype("<f2"))
