"""Nova's own reading of a flavor (Debian python3-nova; run with /usr/bin/python3).

One JSON object per input line: {"vcpus": N, "ram": MiB, "extra_specs": {...}}. Per line, prints
{"invalid": [[key, message], ...]} from nova.api.validation.extra_specs.validators.validate (the
API's extra-spec validation), then Nova's reading: "topology" = [sockets, cores, threads] from
nova.virt.hardware.get_best_cpu_topology, "numa" = the guest NUMA cells of
numa_get_constraints (null: no NUMA topology), or "error" = the exception class Nova raises.
"""
import json
import sys

from nova import objects

objects.register_all()
from nova.api.validation.extra_specs import validators  # noqa: E402
from nova.virt import hardware  # noqa: E402

for line in sys.stdin:
    if not line.strip():
        continue
    d = json.loads(line)
    out = {"invalid": []}
    for k, v in d["extra_specs"].items():
        try:
            validators.validate(k, v)
        except Exception as e:  # exception.ValidationError and friends
            out["invalid"].append([k, "%s: %s" % (type(e).__name__, e)])
    try:
        fl = objects.Flavor(vcpus=d["vcpus"], memory_mb=d["ram"], extra_specs=d["extra_specs"], name="f")
        im = objects.ImageMeta.from_dict({"properties": {}, "name": "i"})
        t = hardware.get_best_cpu_topology(fl, im)
        out["topology"] = [t.sockets, t.cores, t.threads]
        n = hardware.numa_get_constraints(fl, im)
        out["numa"] = None if n is None else [
            {"id": c.id, "cpus": sorted(c.cpuset | c.pcpuset), "pcpus": sorted(c.pcpuset), "memory": c.memory,
             "cpu_policy": c.cpu_policy, "cpu_thread_policy": c.cpu_thread_policy}
            for c in n.cells
        ]
        out["emulator_threads_policy"] = None if n is None else n.emulator_threads_policy
    except Exception as e:
        out["error"] = type(e).__name__
        out["message"] = str(e)
    print(json.dumps(out), flush=True)
