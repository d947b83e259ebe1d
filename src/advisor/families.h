// SPDX-License-Identifier: MIT
// The algorithm families the advisor ranks (FP8, INT8 SmoothQuant, AWQ INT4, ...), each mapped
// to the built-in lowbit scheme that implements it today, and the reasons given for a choice.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/calculator.h"
#include "advisor/measured.h"
#include "advisor/workload.h"

namespace lowbit::advisor {

struct Family {
  std::string_view id;           // "awq_int4"
  std::string_view label;        // "AWQ INT4 g128 (W4A16)"
  std::string_view scheme;       // the lowbit scheme used for it today: "w4g128"
  int loss = 0;                  // generic expected loss: 0 zero .. 3 large, 4 beyond large
  int bits = 16;                 // nominal weight bits
  std::string_view lowbit_note;  // how the scheme relates to the family
  std::string_view evidence;     // published quality numbers behind `loss`
};

const std::vector<Family>& families();
const Family& find_family(std::string_view id);

// The unquantized scheme for the device: bf16, or f16 on GPUs without BF16 (V100, T4).
std::string unquantized_scheme(const Hardware& hardware);

// One ranked choice: a family and the lowbit scheme that implements it today.
struct Choice {
  int rank = 0;
  std::string family;
  std::string label;
  std::string scheme;
  std::string kv_cache_dtype;
  int expected_loss = 0;  // 0 zero .. 3 large, 4 beyond large
  bool loss_measured = false;
  bool within_budget = true;
  std::vector<std::string> reasons;  // hardware, memory, decode, quality, workload, lowbit
};

// Builds the choice for `family` with its reasons from the calculator's numbers.
Choice make_choice(const Family& family, const Calculation& calc, Workload workload,
                   QualityBudget budget, const std::optional<MeasuredQuality>& measured);

// "w4g128: KL 0.012 -> moderate; fp8: KL 0.0004 -> zero".
std::string describe_measured(const MeasuredQuality& measured);

std::string loss_name(int loss);  // "zero" .. "large", "beyond large"

}  // namespace lowbit::advisor
