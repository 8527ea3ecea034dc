// `--nproc-per-node N`: the local launcher, for users without torchrun. It runs this program's command line (without
// the option) as N child processes with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1, MASTER_PORT a free port), waits for them, and ends as torchrun does: 0 when all succeed,
// else the first failure's status. Once one rank has failed, the others get --dist-timeout (plus a grace period) to
// stop on their own before they are terminated; a child dies with the launcher (PR_SET_PDEATHSIG).
#pragma once

namespace smoothlab::cli {

int launch_local_ranks(int nproc, double dist_timeout_seconds);

// `smoothlab study --jobs N`: this command line as N `study --worker --threads T` processes (T: the threads split
// between them), which share the study folder through its run locks. Independent: one failing does not stop the
// others. Ends with 0 when all succeed, else the first failure's status.
int launch_study_workers(int jobs, int threads_each);

} // namespace smoothlab::cli
