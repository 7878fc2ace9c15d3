// Shows the smallest embedding of Quiesce: register a work function, run a
// job of one function task, wait for it. Run: build/examples/hello_embed
#include "runtime/runtime.hpp"

#include <iostream>

int main() {
  quiesce::runtime rt; // supervisor, local node, executors: all in-process
  rt.register_work("greet", [](const quiesce::work_context& ctx) {
    std::cout << "hello from task " << ctx.task() << '\n';
    return quiesce::work_result::success();
  });
  quiesce::task_spec task;
  task.kind = quiesce::work_kind::function;
  task.work = "greet";
  quiesce::job_spec job;
  job.assessments.push_back({"greeting", {task}});
  auto id = rt.add_job(job).job;
  rt.submit(id);
  auto end = rt.wait(id, std::chrono::minutes{1});
  return end.job.status == quiesce::job_status::finished ? 0 : 1;
}
