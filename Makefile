# make reports  - the main job: run every research notebook on the toy profile into reports/
# make test     - all tests (unit, doctests, notebooks on the smoke profile, a quick rehearsal)
# make check    - the inner loop (meant for < 3 min on 2 cores): unit tests and doctests, no notebooks, no test marked slow
# make rehearsal - the xtreme study and all six notebooks on a Hub mirror with random-weight models
# make real-cpu  - real weights (multilingual-e5-small) on real data on a CPU: docs/real_cpu.md
# make slurm     - start a real one-node Slurm cluster with accounting here (root; idempotent): scripts/slurm-up.sh
# Both bootstrap .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# any torch >= 2.6, e.g. make setup TORCH=torch==2.6.0 (PyPI's Linux wheels are CUDA builds and run on CPUs too)
TORCH  ?= torch==2.13.0

.PHONY: setup test check reports rehearsal real-cpu lab clean slurm

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev,e5]"
	touch $@

# two pytest workers (pytest-xdist), each test file on one of them (nbval runs a notebook's cells in order)
XDIST  := -n 2 --dist loadfile

test: setup
	$(PY) -m pytest -q $(XDIST)

check: setup
	$(PY) -m pytest -q $(XDIST) -m "not slow" tests xltlib

reports: setup
	$(VENV)/bin/xlt reports --profile toy

rehearsal: setup
	$(VENV)/bin/xlt rehearsal --out rehearsal

# real weights on 2 CPU cores (docs/real_cpu.md): multilingual-e5-small on data/real, each study beside its
# random-weight control, Tatoeba at two more layers; the research notebooks' designs (sharing real_cpu's runs
# in reports/runs/real-cpu); the reports (a page per study beside its control, notebooks 02, 03, 05)
REAL_CPU := real_cpu real_cpu_random real_cpu_pairs real_cpu_pairs_random real_cpu_targets real_cpu_targets_random \
            real_cpu_layer6 real_cpu_layer0
real-cpu: setup
	for s in $(REAL_CPU); do \
	  HF_HUB_OFFLINE=1 $(VENV)/bin/xlt run examples/$$s.yaml --out reports/runs/$$(echo $$s | tr _ -) --workers 2 || exit 1; \
	done
	for s in real_cpu_size real_cpu_tasks real_cpu_similarity; do \
	  HF_HUB_OFFLINE=1 $(VENV)/bin/xlt run examples/$$s.yaml --out reports/runs/real-cpu --workers 2 || exit 1; \
	done
	for s in real_cpu real_cpu_pairs real_cpu_targets; do \
	  HF_HUB_OFFLINE=1 $(VENV)/bin/xlt reports --study examples/$$s.yaml -p control_file examples/$${s}_random.yaml || exit 1; \
	done
	for s in real_cpu_layer6 real_cpu_layer0; do HF_HUB_OFFLINE=1 $(VENV)/bin/xlt reports --study examples/$$s.yaml || exit 1; done
	HF_HUB_OFFLINE=1 $(VENV)/bin/xlt reports --study examples/real_cpu_size.yaml --only 02_intermediate_data_size
	HF_HUB_OFFLINE=1 $(VENV)/bin/xlt reports --study examples/real_cpu_tasks.yaml \
	  --only 03_task_count_multitask_vs_sequential -p focus xquad
	HF_HUB_OFFLINE=1 $(VENV)/bin/xlt reports --study examples/real_cpu_similarity.yaml \
	  --only 05_task_similarity_low_resource -p low_resource '[zh]'

slurm:
	bash scripts/slurm-up.sh

lab: setup
	$(PY) -m ipykernel install --user --name xltlib --display-name "xltlib (.venv)"
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) build *.egg-info
