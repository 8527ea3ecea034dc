// Loading and running a frozen distillation teacher (run folder or TorchScript; see teacher.h).
#include "smoothlab/distill/teacher.h"

#include <fstream>

#include <c10/util/Exception.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/core/names.h"
#include "smoothlab/data/loader.h"
#include "smoothlab/train/run_dir.h"
#include "smoothlab/train/run_loading.h"

namespace smoothlab::distill {

namespace fs = std::filesystem;

struct Teacher::Impl {
  Kind kind = Kind::Model;
  std::string source;
  model::Classifier model; // Run, Model
  std::shared_ptr<torch::jit::Module> script; // TorchScript
  torch::Device device = torch::kCPU;
  std::vector<float> mean, std; // the teacher's own input normalisation (empty: the student's)
  std::vector<std::string> class_names;
  std::vector<float> student_mean, student_std; // set by set_student_normalisation
  torch::Tensor scale, shift; // [1, C, 1, 1] student → teacher input, undefined: identity

  torch::Tensor forward(const torch::Tensor& x) {
    if (script)
      return script->forward({x}).toTensor();
    return model->forward(x);
  }
};

namespace {

void freeze(Teacher::Impl& impl) {
  if (impl.script) {
    impl.script->eval();
    // Modules scripted in PyTorch carry a `training` attribute; one built without it (C++ torch::jit::Module) ignores
    // eval() and reports training = true. Its code cannot read self.training, so recording false is exact.
    if (!impl.script->hasattr("training"))
      impl.script->register_attribute("training", c10::BoolType::get(), false);
    for (auto p : impl.script->parameters())
      p.set_requires_grad(false);
  } else {
    impl.model->eval();
    for (auto& p : impl.model->parameters())
      p.set_requires_grad(false);
  }
}

bool is_zip_archive(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

} // namespace

Teacher Teacher::load(const fs::path& path, const train::Device& device) {
  if (!fs::exists(path))
    throw Error(
        fmt::format("--teacher {}: no such run folder or file", path.string()),
        "pass a run folder written by smoothlab train, or a TorchScript file (torch.jit.save)");
  Teacher t;
  t.impl_ = std::make_shared<Impl>();
  auto& impl = *t.impl_;
  impl.source = path.string();
  impl.device = train::torch_device(device);
  if (fs::is_directory(path)) {
    auto run = train::load_run(path, device);
    impl.kind = Kind::Run;
    impl.model = run.model;
    impl.mean = run.data.mean;
    impl.std = run.data.std;
    impl.class_names = run.data.class_names;
  } else {
    if (!is_zip_archive(path))
      throw Error(
          fmt::format("--teacher {}: not a TorchScript archive", path.string()),
          "export the teacher from PyTorch with torch.jit.save(torch.jit.script(model), path), or pass its "
          "smoothlab run folder (a checkpoint.safetensors is not a TorchScript module)");
    try {
      impl.script = std::make_shared<torch::jit::Module>(torch::jit::load(path.string(), impl.device));
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      throw Error(
          fmt::format("--teacher {}: cannot load as TorchScript ({})", path.string(), what.substr(0, what.find('\n'))),
          "a smoothlab checkpoint.safetensors is not TorchScript: pass its run folder instead");
    }
    if (!impl.script->find_method("forward"))
      throw Error(
          fmt::format("--teacher {}: the TorchScript module has no forward method", path.string()),
          "a smoothlab checkpoint.safetensors is not a TorchScript module: pass its run folder instead");
    impl.kind = Kind::TorchScript;
  }
  freeze(impl);
  return t;
}

Teacher Teacher::from_model(model::Classifier model, std::vector<float> mean, std::vector<float> std) {
  check(model != nullptr, "teacher: no model");
  Teacher t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->kind = Kind::Model;
  t.impl_->source = "<model>";
  t.impl_->model = std::move(model);
  t.impl_->mean = std::move(mean);
  t.impl_->std = std::move(std);
  const auto params = t.impl_->model->parameters();
  if (!params.empty())
    t.impl_->device = params.front().device();
  freeze(*t.impl_);
  return t;
}

void Teacher::set_student_normalisation(const std::vector<float>& mean, const std::vector<float>& std) {
  auto& impl = *impl_;
  impl.scale = impl.shift = torch::Tensor();
  impl.student_mean = mean;
  impl.student_std = std;
  // TorchScript modules take pixels in [0, 1]: their own "normalisation" is the identity.
  if (impl.script && impl.mean.empty()) {
    impl.mean.assign(mean.size(), 0.0f);
    impl.std.assign(std.size(), 1.0f);
  }
  if (impl.mean.empty() || (impl.mean == mean && impl.std == std))
    return;
  if (impl.mean.size() != mean.size() || impl.std.size() != std.size() || mean.size() != std.size())
    throw Error(fmt::format(
        "--teacher {}: it takes {}-channel images, the student's data has {} channels",
        impl.source,
        impl.mean.size(),
        mean.size()));
  // teacher input = (x·s_s + m_s − m_t) / s_t = x·(s_s / s_t) + (m_s − m_t) / s_t
  const auto C = int64_t(mean.size());
  auto scale = torch::empty({C}, torch::kFloat32), shift = torch::empty({C}, torch::kFloat32);
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = std[size_t(c)] / impl.std[size_t(c)];
    shift[c] = (mean[size_t(c)] - impl.mean[size_t(c)]) / impl.std[size_t(c)];
  }
  impl.scale = scale.view({1, C, 1, 1});
  impl.shift = shift.view({1, C, 1, 1});
}

torch::Tensor Teacher::logits(const torch::Tensor& images) const {
  auto& impl = *impl_;
  torch::NoGradGuard no_grad;
  auto x = images.detach().to(impl.device, torch::kFloat32);
  if (impl.scale.defined())
    x = x * impl.scale.to(impl.device) + impl.shift.to(impl.device);
  torch::Tensor out;
  try {
    out = impl.forward(x);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // c10::Error from modules, std::runtime_error from the TorchScript interpreter
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    std::string what = c10_error ? c10_error->what_without_backtrace() : e.what();
    const auto line = what.find("RuntimeError: ");
    if (line != std::string::npos)
      what = what.substr(line + 14);
    throw Error(
        fmt::format(
            "--teacher {}: forward failed on input {} ({})",
            impl.source,
            c10::str(x.sizes()),
            what.substr(0, what.find('\n'))),
        "teacher and student must take the same image shape");
  }
  check(
      out.dim() == 2 && out.size(0) == x.size(0),
      "--teacher {}: expected logits [{}, K], got {}",
      impl.source,
      x.size(0),
      c10::str(out.sizes()));
  return out.detach().to(images.device(), torch::kFloat32);
}

int64_t Teacher::check_compatible(const model::InputShape& student) const {
  auto probe = torch::zeros({2, student.channels, student.height, student.width});
  const int64_t K = logits(probe).size(1);
  if (K != student.num_classes)
    throw Error(
        fmt::format(
            "--teacher {}: the teacher has {} classes but the student has {}", impl_->source, K, student.num_classes),
        "distil from a teacher trained on the same data (same --data)");
  return K;
}

torch::Tensor Teacher::dataset_logits(const data::Dataset& dataset, int64_t batch_size, int workers) const {
  // Normalised exactly as the student's un-augmented batches are, so these logits equal what logits() gives on
  // those batches (the distillation cache relies on it).
  const auto& impl = *impl_;
  const bool student_known = !impl.student_mean.empty();
  auto loader = data::make_eval_loader(
      dataset,
      batch_size,
      student_known ? impl.student_mean : impl.mean,
      student_known ? impl.student_std : impl.std,
      workers);
  std::vector<torch::Tensor> parts;
  loader->start_epoch(0);
  data::Batch batch;
  while (loader->next(batch))
    parts.push_back(logits(batch.images).cpu());
  return parts.empty() ? torch::empty({0, 0}) : torch::cat(parts);
}

Teacher::Kind Teacher::kind() const {
  return impl_->kind;
}
const std::string& Teacher::source() const {
  return impl_->source;
}
bool Teacher::is_training() const {
  return impl_->script ? impl_->script->is_training() : impl_->model->is_training();
}
std::vector<torch::Tensor> Teacher::parameters() const {
  std::vector<torch::Tensor> out;
  if (impl_->script) {
    for (auto p : impl_->script->parameters())
      out.push_back(p);
  } else {
    out = impl_->model->parameters();
  }
  return out;
}
const std::vector<std::string>& Teacher::class_names() const {
  return impl_->class_names;
}

const char* teacher_kind_name(Teacher::Kind kind) {
  static constexpr Named<Teacher::Kind> kKinds[] = {
      {Teacher::Kind::Run, "run"},
      {Teacher::Kind::TorchScript, "torchscript"},
      {Teacher::Kind::Model, "model"},
  };
  return name_of(kKinds, kind);
}

} // namespace smoothlab::distill
