// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv::Result<T>: a small std::expected-like value-or-error, no exceptions.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace xdpkv {

struct Error {
  int code = 0;         // positive errno value (EINVAL, EBADMSG, ...)
  std::string message;  // one line, human readable, no trailing newline
};

inline Error make_error(int code, std::string message) {
  return Error{code < 0 ? -code : code, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");

 public:
  using value_type = T;

  Result(const T& v) : v_(std::in_place_index<0>, v) {}
  Result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // Accessing the value of an error (or the error of a value) is a bug: abort.
  T& value() & {
    check(true);
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    check(true);
    return *std::get_if<0>(&v_);
  }
  T&& value() && {
    check(true);
    return std::move(*std::get_if<0>(&v_));
  }
  const Error& error() const& {
    check(false);
    return *std::get_if<1>(&v_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return ok() ? *std::get_if<0>(&v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check(bool want_value) const {
    if (ok() != want_value) std::abort();
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() = default;
  Result(Error e) : e_(std::move(e)) {}

  bool ok() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& {
    if (ok()) std::abort();
    return *e_;
  }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

}  // namespace xdpkv
