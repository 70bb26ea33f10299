"""Compiling llama.cpp's server for this CPU: the real cmake flow on a tiny stand-in project."""

import os

import pytest



def _tiny_llama_cpp(root):
    tree = root / "llama_cpp_python-0.0.0" / "vendor" / "llama.cpp"
    tree.mkdir(parents=True)
    (tree / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.14)\nproject(tiny CXX)\n"
        "set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)\n"
        "add_executable(llama-server main.cpp)\n"
    )
    (tree / "main.cpp").write_text('#include <cstdio>\nint main() { std::puts("tiny server"); return 0; }\n')
    return tree


def test_build_server_compiles_installs_and_is_picked_up(tmp_path, monkeypatch):
    import shutil
    import subprocess
    import tarfile

    from gpo.lm.llama_server import native_binary
    from gpo.lm.native_build import build_native_server, installed_server

    if not shutil.which("cmake") or not (shutil.which("c++") or shutil.which("g++")):
        pytest.skip("cmake and a C++ compiler are needed")
    monkeypatch.setenv("GPO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GPO_LLAMA_SERVER", raising=False)
    src = tmp_path / "src"
    _tiny_llama_cpp(src)
    archive = tmp_path / "llama_cpp_python-0.0.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "llama_cpp_python-0.0.0", arcname="llama_cpp_python-0.0.0")
    lines = []
    path = build_native_server(source=archive, jobs=1, log=lines.append)
    assert path == installed_server() and path.is_file()
    assert subprocess.run([str(path)], capture_output=True, text=True).stdout.strip() == "tiny server"
    assert any("-DGGML_NATIVE=ON" in line and "-mno-amx-tile" in line for line in lines)
    assert native_binary() == str(path)


def test_build_server_without_cmake_is_one_clear_line(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "PATH": str(tmp_path), "GPO_HOME": str(tmp_path / "home")}
    env.pop("CXX", None)
    r = subprocess.run([sys.executable, "-m", "gpo.cli", "models", "build-server"], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("gpo: error: building llama-server needs cmake")
