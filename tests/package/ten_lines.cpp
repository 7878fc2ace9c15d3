#include <iostream>
#include <quiesce/runtime/runtime.hpp>

int main() {
  quiesce::runtime rt; // supervisor, local node and executors, in-process
  rt.register_work("greet", [](const quiesce::work_context& ctx) {
    std::cout << "hello from task " << ctx.task() << std::endl;
    return quiesce::work_result::success();
  });
  auto added = rt.load_jobs("hello.toml"); // added.errors: file:line:column
  for (auto id : added.jobs)
    rt.submit(id);
  for (auto id : added.jobs)
    if (rt.wait(id, std::chrono::minutes{1}).job.status
        != quiesce::job_status::finished)
      return 1;
  return added.code == quiesce::result_code::ok ? 0 : 1;
}
