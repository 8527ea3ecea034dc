// Checkpoints (train/checkpoint.h): the safetensors layout read back by hand from its specification, an exact round
// trip of weights, buffers, momentum and RNG, and files that are refused before anything is allocated or changed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <cstring>

#include <torch/torch.h>

#include "smoothlab/core/error.h"
#include "smoothlab/train/checkpoint.h"
#include "support/support.h"

namespace smoothlab::testing {
namespace {

// A small net with a buffer (batch norm), trained one SGD step with momentum so the optimizer has state.
struct Net {
  torch::nn::Sequential net{torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3)};
  torch::optim::SGD optimizer{net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9)};
  explicit Net(int seed) {
    torch::manual_seed(seed);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net->parameters())
        p.uniform_(-1, 1);
    }
    optimizer.zero_grad();
    net->forward(torch::randn({5, 4})).square().sum().backward();
    optimizer.step();
  }
};

// The header as safetensors specifies it: 8 bytes little-endian size, then that many bytes of JSON.
nlohmann::json header_of(const std::string& bytes, uint64_t* data_start) {
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  *data_start = 8 + n;
  return nlohmann::json::parse(bytes.substr(8, n));
}

TEST(Checkpoint, IsSafetensorsWithEveryTensorNamed) {
  TempDir dir;
  Net a(1);
  train::save_checkpoint(dir / "c.safetensors", *a.net, &a.optimizer, 7, torch::tensor({1024.0f, 3.0f}));
  const std::string bytes = read_bytes(dir / "c.safetensors");
  uint64_t data = 0;
  const auto header = header_of(bytes, &data);
  EXPECT_EQ(data % 8, 0u); // the data start 8-byte aligned
  EXPECT_EQ(header["__metadata__"]["format"], "smoothlab_checkpoint");
  EXPECT_EQ(header["__metadata__"]["version"], "2");
  EXPECT_EQ(header["__metadata__"]["epochs_done"], "7");
  // model.<name> for each parameter and buffer, one momentum buffer per parameter, the scaler, the RNG.
  for (const char* name :
       {"model.0.weight",
        "model.0.bias",
        "model.1.weight",
        "model.1.bias",
        "model.1.running_mean",
        "model.1.running_var",
        "model.1.num_batches_tracked",
        "optimizer.momentum_buffer.0.weight",
        "optimizer.momentum_buffer.1.bias",
        "grad_scaler",
        "rng_state"})
    EXPECT_TRUE(header.contains(name)) << name;
  EXPECT_EQ(header.size(), 1u + 7 + 4 + 2);
  // The bytes at a tensor's offsets are its values.
  const auto& w = header["model.0.weight"];
  EXPECT_EQ(w["dtype"], "F32");
  EXPECT_EQ(w["shape"], nlohmann::json({3, 4}));
  const uint64_t begin = w["data_offsets"][0], end = w["data_offsets"][1];
  ASSERT_EQ(end - begin, 12 * sizeof(float));
  torch::Tensor stored = torch::empty({3, 4});
  std::memcpy(stored.data_ptr(), bytes.data() + data + begin, end - begin);
  EXPECT_TRUE(torch::equal(stored, a.net[0]->as<torch::nn::Linear>()->weight));
  EXPECT_EQ(header["model.1.num_batches_tracked"]["dtype"], "I64");
  EXPECT_EQ(header["rng_state"]["dtype"], "U8");
}

TEST(Checkpoint, RoundTripsWeightsMomentumScalerAndRandomState) {
  TempDir dir;
  Net a(1), b(2);
  train::save_checkpoint(dir / "c.safetensors", *a.net, &a.optimizer, 3, torch::tensor({1024.0f, 3.0f}));
  const auto next_random = torch::rand({4});
  torch::Tensor scaler;
  EXPECT_EQ(train::load_checkpoint(dir / "c.safetensors", *b.net, &b.optimizer, &scaler), 3);
  EXPECT_TRUE(torch::equal(torch::rand({4}), next_random)); // the generator is where it was when saved
  EXPECT_TRUE(torch::equal(scaler, torch::tensor({1024.0f, 3.0f})));
  for (const auto& p : a.net->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), b.net->named_parameters()[p.key()])) << p.key();
  for (const auto& p : a.net->named_buffers())
    EXPECT_TRUE(torch::equal(p.value(), b.net->named_buffers()[p.key()])) << p.key();
  // The same step from the same state lands on the same weights: the momentum buffers came back.
  const auto x = torch::randn({5, 4});
  for (Net* n : {&a, &b}) {
    n->optimizer.zero_grad();
    n->net->forward(x).square().sum().backward();
    n->optimizer.step();
  }
  for (const auto& p : a.net->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), b.net->named_parameters()[p.key()])) << p.key();
  EXPECT_EQ(train::checkpoint_epochs(dir / "c.safetensors"), 3);
}

TEST(Checkpoint, AnotherModelIsRefusedAndLeftUnchanged) {
  TempDir dir;
  Net a(1);
  train::save_checkpoint(dir / "c.safetensors", *a.net, nullptr, 1);
  torch::nn::Linear other(4, 5);
  const auto before = other->weight.clone();
  EXPECT_ERROR_MENTIONS(
      train::load_checkpoint(dir / "c.safetensors", *other, nullptr),
      (dir / "c.safetensors").string(),
      "does not fit this model");
  EXPECT_TRUE(torch::equal(other->weight, before));
}

// Rewrites the header of a saved checkpoint (keeping the data) with edit applied.
void edit_header(const fs::path& path, const std::function<void(nlohmann::json&)>& edit) {
  const std::string bytes = read_bytes(path);
  uint64_t data = 0;
  auto header = header_of(bytes, &data);
  edit(header);
  const std::string json = header.dump();
  const uint64_t n = json.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  write_bytes(path, out + json + bytes.substr(data));
}

TEST(Checkpoint, DamagedHeadersAreRefusedNamingTheFile) {
  TempDir dir;
  Net a(1);
  const auto path = dir / "c.safetensors";
  const auto refused = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& why) {
    train::save_checkpoint(path, *a.net, &a.optimizer, 2);
    edit_header(path, edit);
    EXPECT_ERROR_MENTIONS(train::load_checkpoint(path, *a.net, &a.optimizer), path.string(), why);
    EXPECT_ERROR_MENTIONS(train::checkpoint_epochs(path), path.string(), why);
  };
  // A shape of 10¹² elements over 48 bytes: refused before any allocation.
  refused([](auto& h) { h["model.0.weight"]["shape"] = {1000000, 1000000}; }, "does not hold its shape");
  refused([](auto& h) { h["model.0.weight"]["dtype"] = "F128"; }, "unknown dtype");
  refused([](auto& h) { h["model.0.bias"]["data_offsets"] = h["model.0.weight"]["data_offsets"]; }, "byte range");
  refused([](auto& h) { h.erase("rng_state"); }, "take"); // the tensors no longer cover the data
  refused([](auto& h) { h["__metadata__"]["epochs_done"] = "-1"; }, "epochs_done is not a whole number");
  refused([](auto& h) { h["__metadata__"]["format"] = "other"; }, "not a smoothlab checkpoint");
  refused([](auto& h) { h["__metadata__"]["version"] = "3"; }, "version 3 is newer");
  refused([](auto& h) { h["__metadata__"]["crc32"] = "00000000"; }, "fail their checksum");
  refused([](auto& h) { h["__metadata__"]["epochs_done"] = "5"; }, "fail their checksum"); // the header is covered too
  // A version-1 file (LibTorch's zip archive) starts "PK\3\4": its header size is absurd.
  write_bytes(path, std::string("PK\x03\x04", 4) + std::string(100, '\0'));
  EXPECT_ERROR_MENTIONS(train::checkpoint_epochs(path), path.string(), "not a readable checkpoint");
}

} // namespace
} // namespace smoothlab::testing
