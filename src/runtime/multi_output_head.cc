#include "multi_output_head.h"

#include <algorithm>
#include <utility>

#include "tree_heads.h"

namespace ark::runtime {

MultiOutputForestHead::MultiOutputForestHead(TreeEnsemble proba, bool average,
                                             std::unique_ptr<TreeEnsemble> raw,
                                             std::vector<size_t> offsets)
    : proba_(std::move(proba)),
      average_(average),
      raw_(std::move(raw)),
      offsets_(std::move(offsets)) {}

size_t MultiOutputForestHead::Width(Method method) const {
  switch (method) {
    case Method::kPredict:
      return offsets_.size() - 1;
    case Method::kPredictProba:
      return proba_.n_columns();
    default:
      return 0;
  }
}

void MultiOutputForestHead::Scores(Method, const double* x, size_t rows, double* out,
                                   Scratch& scratch) const {
  ForestProba(proba_, average_, x, rows, out, scratch);
}

void MultiOutputForestHead::Labels(const double* x, size_t rows, int32_t* out,
                                   Scratch& scratch) const {
  const size_t c = proba_.n_columns();
  const double* scores = ForestVotes(proba_, average_, raw_.get(), x, rows, scratch);
  const size_t k_outputs = offsets_.size() - 1;
  for (size_t r = 0; r < rows; ++r) {
    const double* s = scores + r * c;
    for (size_t k = 0; k < k_outputs; ++k) {
      size_t best = offsets_[k];
      for (size_t j = offsets_[k] + 1; j < offsets_[k + 1]; ++j) {
        if (s[j] > s[best]) best = j;  // np.argmax: the first maximum
      }
      out[r * k_outputs + k] = static_cast<int32_t>(best);
    }
  }
}

}  // namespace ark::runtime
