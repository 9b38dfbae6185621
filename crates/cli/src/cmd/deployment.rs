//! Shared by `harden` and `check`: the deployment arguments as a library request.

use crate::cli::DeploymentArgs;
use pgtls_harden::docker::DockerCli;

/// The request `pgtls_harden::run` takes, from the shared arguments.
pub fn request(args: &DeploymentArgs) -> pgtls_harden::run::Request {
    let mut req = pgtls_harden::run::Request::new(&args.dir);
    req.layout = args.layout.map(Into::into);
    req.pg_owner.clone_from(&args.pg_owner);
    req.pg_version = args.pg_version.map(|v| match v {
        crate::cli::PgVersionArg::V15 => 15,
        crate::cli::PgVersionArg::V16 => 16,
        crate::cli::PgVersionArg::V17 => 17,
    });
    req.extra_sans = args.domain.iter().chain(&args.san).cloned().collect();
    // relative to DIR; an absolute path inside DIR is made relative to it
    req.compose.files = args
        .file
        .iter()
        .map(|f| {
            std::path::Path::new(f)
                .strip_prefix(&args.dir)
                .map_or_else(|_| f.clone(), |r| r.display().to_string())
        })
        .collect();
    req
}

/// The Docker engine on this host, asked when the files do not tell the db user.
pub fn engine() -> DockerCli {
    DockerCli::from_env()
}
