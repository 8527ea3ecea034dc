// A one-line note for the user from the library (which never prints): its kind lets a front end choose which notes to
// show without matching their text.
#pragma once

#include <functional>
#include <string>

namespace smoothlab {

enum class NoteKind {
  Data, // about the data as loaded (an index that was not cached, images skipped)
  Precision, // the precision runs emulated or slowly here (model::precision_note)
  Resume, // a run continues from its checkpoint
  Finished, // a run had already finished: nothing to train
  Study, // the study's own steps (finished runs, analysis, another worker's report)
};

struct Note {
  NoteKind kind;
  std::string text;
};

using NoteHook = std::function<void(const Note&)>;

} // namespace smoothlab
