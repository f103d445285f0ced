// Python 2 names that Python 3's unpickler renames for protocols < 3
// (pickle.Unpickler.find_class with fix_imports=True, the default; the table
// of CPython's Lib/_compat_pickle.py). Python 3 itself writes these names
// (copy_reg._reconstructor, __builtin__.object) when it pickles with
// protocol 0, 1 or 2, so the reader reports what would really be imported.
// Private to ark_interop.
#pragma once

#include <string>

namespace ark::interop {

// Renames (module, name) in place when Python 3 would; else leaves them.
void FixImports(std::string* module, std::string* name);

}  // namespace ark::interop
